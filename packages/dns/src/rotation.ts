/**
 * Weighted round robin over the records of one name, as stride scheduling: each candidate is
 * due again `1 / weight` after it was picked, and each query picks the one due first (ties: the
 * lower index). Over any run of queries each candidate's share follows its weight as closely as
 * integers allow, picks are spread out (weights 3 and 1: a b a a a b a a …, not 75 a then 25 b),
 * and equal weights make a plain round robin (a b c a b c). State lives in typed arrays ordered as a binary heap, so a
 * pick costs O(log n) whatever the number of candidates, with no allocation.
 */
export class Rotation {
  /** How many candidates take turns (those with a weight). */
  readonly size: number;
  /** Per candidate: how far its next turn moves when it is picked (1 / weight). */
  readonly #stride: Float64Array;
  /** Per candidate: the virtual time it is next due. */
  readonly #pass: Float64Array;
  /** Candidate indices as a min-heap by (pass, index): the root is the next pick. */
  readonly #heap: Int32Array;

  /**
   * A rotation over candidates with these weights (zero, negative and non-finite weights are
   * never picked while another can be). `carried`: where each candidate stood in the rotation
   * this one follows (its pass, relative to the others), or NaN for a newcomer, due at once.
   */
  constructor(weights: ArrayLike<number>, carried?: ArrayLike<number>) {
    const n = weights.length;
    this.#stride = new Float64Array(n);
    this.#pass = new Float64Array(n).fill(Number.NaN);
    this.#heap = new Int32Array(n);
    const usable = (w: number) => Number.isFinite(w) && w > 0;
    let any = false;
    for (let i = 0; i < n; i++) any ||= usable(weights[i]!);
    // Only candidates with a weight take turns; when none has one, all do, equally.
    let size = 0;
    let low = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (any && !usable(w)) continue;
      this.#stride[i] = any ? 1 / w : 1;
      this.#heap[size++] = i;
      const c = carried ? carried[i]! : Number.NaN;
      if (c < low) low = c;
    }
    this.size = size;
    for (let h = 0; h < size; h++) {
      const i = this.#heap[h]!;
      const c = carried ? carried[i]! : Number.NaN;
      // Relative to the earliest carried one: passes only grow, so keep them near zero.
      this.#pass[i] = Number.isNaN(c) ? 0 : c - low;
    }
    for (let i = (size >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  /** This query's pick (an index into the candidates), and the rotation moves on past it. */
  next(): number {
    if (this.size <= 1) return this.size === 1 ? this.#heap[0]! : 0;
    const top = this.#heap[0]!;
    this.#pass[top] = this.#pass[top]! + this.#stride[top]!;
    this.#siftDown(0);
    return top;
  }

  /** Where candidate `i` stands (its pass; NaN when it takes no turns), to carry it into a rebuilt view. */
  passOf(i: number): number {
    return this.#pass[i]!;
  }

  #before(a: number, b: number): boolean {
    const pa = this.#pass[a]!;
    const pb = this.#pass[b]!;
    return pa < pb || (pa === pb && a < b);
  }

  #siftDown(at: number): void {
    const heap = this.#heap;
    const n = this.size;
    const item = heap[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(heap[child + 1]!, heap[child]!)) child++;
      if (!this.#before(heap[child]!, item)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = item;
  }
}
