/** Samples are kept at most this often: a sync reports every chunk, thousands a second. */
const SAMPLE_EVERY_MS = 100;

/**
 * The rate of a growing count (bytes fetched) over the last `windowMs`, from samples of the
 * count: recent enough to follow a --max-rate or a link that slows, steady enough to give an
 * ETA that does not jump at each batch.
 */
export class RateWindow {
  readonly #windowMs: number;
  readonly #minSpanMs: number;
  readonly #samples: { at: number; count: number }[] = [];
  #latest: { at: number; count: number } | undefined;

  /** `minSpanMs`: no rate is told until the samples span this long. */
  constructor(windowMs = 5000, minSpanMs = 1000) {
    this.#windowMs = windowMs;
    this.#minSpanMs = minSpanMs;
  }

  /** The count at time `at` (ms); counts and times only grow. */
  sample(at: number, count: number): void {
    this.#latest = { at, count };
    const s = this.#samples;
    const prev = s[s.length - 1];
    if (prev && at - prev.at < SAMPLE_EVERY_MS) return;
    s.push({ at, count });
    // Keep one sample at or before the window's start, so that the span covers the window.
    while (s.length > 2 && s[1]!.at <= at - this.#windowMs) s.shift();
  }

  /** Count per second over the window, or null until the samples span `minSpanMs`. */
  perSecond(): number | null {
    const first = this.#samples[0];
    const last = this.#latest;
    if (!first || !last) return null;
    const span = last.at - first.at;
    if (span < this.#minSpanMs) return null;
    return ((last.count - first.count) * 1000) / span;
  }

  /** Samples held: about one window's worth. */
  get size(): number {
    return this.#samples.length;
  }
}
