import type { FetchProgress, PutChange } from '@outpost/protocol';

/** Counts, as chunks arrive, the files that became whole and the bytes fetched. */
export class Progress {
  readonly #report: ((p: FetchProgress) => void) | undefined;
  /** For each missing chunk, the files waiting on it. */
  readonly #waiting = new Map<string, number[]>();
  #remaining: number[] = [];
  #p: FetchProgress = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
  #sizes = new Map<string, number>();

  constructor(report?: (p: FetchProgress) => void) {
    this.#report = report;
  }

  /** Sets the totals: these files, of which these chunks are to be fetched. */
  start(puts: readonly PutChange[], missing: readonly string[], sizes: Map<string, number>): void {
    this.#sizes = sizes;
    const lacking = new Set(missing);
    this.#remaining = puts.map((put, i) => {
      const wanted = new Set(put.chunks.map((c) => c.hash).filter((h) => lacking.has(h)));
      for (const h of wanted) {
        const list = this.#waiting.get(h);
        if (list) list.push(i);
        else this.#waiting.set(h, [i]);
      }
      return wanted.size;
    });
    let bytesTotal = 0;
    for (const h of missing) bytesTotal += sizes.get(h) ?? 0;
    const filesDone = this.#remaining.filter((n) => n === 0).length;
    this.#p = { filesDone, filesTotal: puts.length, bytesDone: 0, bytesTotal };
    this.#report?.({ ...this.#p });
  }

  /** A missing chunk is now held. */
  arrived(hash: string): void {
    const files = this.#waiting.get(hash);
    if (!files) return;
    this.#waiting.delete(hash);
    this.#p.bytesDone += this.#sizes.get(hash) ?? 0;
    for (const i of files) if (--this.#remaining[i]! === 0) this.#p.filesDone++;
    this.#report?.({ ...this.#p });
  }
}
