const MiB = 1024 * 1024;

/** Options of {@link CompressionChoice}. */
export interface CompressionChoiceOptions {
  /**
   * Chunks arriving faster than this (bytes/s of content) come over a link that deflate would
   * only slow down: ask for them raw. Deflate at level 1 packs about 100 MB/s of text
   * on one core here (0.89 s for the bulk bench's 94 MiB of text), and the replica must inflate it.
   */
  rawAbove?: number;
  /** Chunks arriving slower than this come over a link worth packing for: ask for them deflated again. */
  deflateBelow?: number;
  /** Bytes a judgement needs: under this, a fetch's time is mostly round trips, not the link. */
  sampleBytes?: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

/**
 * Whether to ask the master for deflated chunks, judged from the rate chunks arrive at. Over
 * a thin link deflate saves time as well as bytes; over a fast one (a LAN, loopback) the
 * master packing and the replica unpacking are the bottleneck, and raw chunks arrive sooner.
 * It starts out asking for deflate (small changes cost little either way), and switches only
 * past a band between the two thresholds, so a rate near one does not flip it back and forth.
 * Time counts while at least one fetch runs, however many run at once.
 */
export class CompressionChoice {
  readonly #rawAbove: number;
  readonly #deflateBelow: number;
  readonly #sampleBytes: number;
  readonly #now: () => number;
  #deflate = true;
  #running = 0;
  #since = 0;
  #bytes = 0;
  #ms = 0;
  /** The content rate (bytes/s) of the last judgement, if any was made. */
  lastRate: number | undefined;

  constructor(opts: CompressionChoiceOptions = {}) {
    this.#rawAbove = opts.rawAbove ?? 40 * MiB;
    this.#deflateBelow = opts.deflateBelow ?? 20 * MiB;
    this.#sampleBytes = opts.sampleBytes ?? 4 * MiB;
    this.#now = opts.now ?? (() => performance.now());
    if (!(this.#deflateBelow <= this.#rawAbove))
      throw new RangeError('deflateBelow must not exceed rawAbove');
  }

  /** True while the next fetch should ask for deflated chunks. */
  get deflate(): boolean {
    return this.#deflate;
  }

  /** A fetch began. */
  begin(): void {
    if (this.#running++ === 0) this.#since = this.#now();
  }

  /** A fetch ended (however it ended). */
  end(): void {
    if (this.#running === 0) return;
    if (--this.#running === 0) this.#ms += this.#now() - this.#since;
  }

  /** Chunk bytes arrived (their content size, whatever crossed the wire); returns true when the choice changed. */
  arrived(bytes: number): boolean {
    this.#bytes += bytes;
    if (this.#bytes < this.#sampleBytes) return false;
    const at = this.#now();
    const ms = this.#ms + (this.#running > 0 ? at - this.#since : 0);
    const rate = (this.#bytes * 1000) / Math.max(ms, 1);
    this.#bytes = 0;
    this.#ms = 0;
    this.#since = at;
    this.lastRate = rate;
    const was = this.#deflate;
    if (this.#deflate && rate > this.#rawAbove) this.#deflate = false;
    else if (!this.#deflate && rate < this.#deflateBelow) this.#deflate = true;
    return was !== this.#deflate;
  }
}
