/** A candidate for one name: a key that identifies it across queries, and its weight. */
export interface Weighted {
  key: string;
  weight: number;
}

/**
 * Smooth weighted round robin (as nginx does), one state per rotation key (a name and record
 * type). Over any run of queries each candidate's share follows its weight as closely as
 * integers allow, and picks are spread out (A B A C A B …, not A A A B B C). Candidates that
 * come and go keep the state of those that stay.
 */
export class Rotation {
  readonly #state = new Map<string, Map<string, number>>();
  readonly #maxKeys: number;

  constructor(maxKeys = 10_000) {
    this.#maxKeys = maxKeys;
  }

  /** Orders the candidates for one answer: the first is this query's pick, the rest follow. */
  order<T extends Weighted>(rotationKey: string, candidates: readonly T[]): T[] {
    if (candidates.length <= 1) return [...candidates];
    let cur = this.#state.get(rotationKey);
    if (!cur) {
      if (this.#state.size >= this.#maxKeys) this.#state.clear();
      cur = new Map();
      this.#state.set(rotationKey, cur);
    }
    if (cur.size > candidates.length * 2) {
      const keep = new Set(candidates.map((c) => c.key));
      for (const k of cur.keys()) if (!keep.has(k)) cur.delete(k);
    }
    let total = 0;
    let best: T | undefined;
    let bestValue = Number.NEGATIVE_INFINITY;
    const values = new Map<T, number>();
    for (const c of candidates) {
      const w = Number.isFinite(c.weight) && c.weight > 0 ? c.weight : 0;
      const v = (cur.get(c.key) ?? 0) + w;
      values.set(c, v);
      total += w;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    values.set(best!, bestValue - total);
    for (const [c, v] of values) cur.set(c.key, v);
    const rest = candidates.filter((c) => c !== best).sort((a, b) => values.get(b)! - values.get(a)!);
    return [best!, ...rest];
  }

  /** Forgets every rotation (for tests). */
  clear(): void {
    this.#state.clear();
  }
}
