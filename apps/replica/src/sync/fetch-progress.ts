import type { TreeEntry } from '@outpost/core';
import type { FetchProgress } from '@outpost/protocol';

/** Counts, as chunks arrive, the files that became whole and the bytes fetched. */
export class Progress {
  readonly #report: ((p: FetchProgress) => void) | undefined;
  /**
   * For each missing chunk, the file (or files) waiting on it: a bare index for the usual one,
   * as a 100,000-file sync would otherwise hold 100,000 one-element arrays.
   */
  readonly #waiting = new Map<string, number | number[]>();
  #remaining: number[] = [];
  #p: FetchProgress = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
  #sizes = new Map<string, number>();

  constructor(report?: (p: FetchProgress) => void) {
    this.#report = report;
  }

  /**
   * Adds to the totals: these files, of which these chunks are to be fetched. A manifest in
   * parts adds part by part, so its totals grow as its parts arrive.
   */
  add(puts: readonly TreeEntry[], missing: readonly string[], sizes: Map<string, number>): void {
    this.#sizes = sizes;
    const lacking = new Set(missing);
    const offset = this.#remaining.length;
    const remaining = puts.map((put, at) => {
      const i = offset + at;
      let wanted = 0;
      // A chunk repeated within a file counts once; a one-chunk file needs no set to tell.
      const seen = put.chunks.length > 1 ? new Set<string>() : undefined;
      for (const { hash } of put.chunks) {
        if (!lacking.has(hash) || seen?.has(hash)) continue;
        seen?.add(hash);
        wanted++;
        const held = this.#waiting.get(hash);
        if (held === undefined) this.#waiting.set(hash, i);
        else if (typeof held === 'number') this.#waiting.set(hash, [held, i]);
        else held.push(i);
      }
      return wanted;
    });
    for (const n of remaining) {
      this.#remaining.push(n);
      if (n === 0) this.#p.filesDone++;
    }
    for (const h of missing) this.#p.bytesTotal += sizes.get(h) ?? 0;
    this.#p.filesTotal += puts.length;
    this.#report?.({ ...this.#p });
  }

  /** A missing chunk is now held. */
  arrived(hash: string): void {
    const files = this.#waiting.get(hash);
    // The first file's index is 0: only a chunk no file waits on is passed over.
    if (files === undefined) return;
    this.#waiting.delete(hash);
    this.#p.bytesDone += this.#sizes.get(hash) ?? 0;
    for (const i of typeof files === 'number' ? [files] : files)
      if (--this.#remaining[i]! === 0) this.#p.filesDone++;
    this.#report?.({ ...this.#p });
  }
}
