/**
 * Serialized publish messages by the (version, from, root, parts) they answer: many replicas
 * at the same version get the very same messages, built once. Bounded by count and by size,
 * since a full manifest of 100,000 files is about 24 MB and replicas coming back from many
 * different versions must not pile up such copies; the newest set is always kept.
 */
export class PublishCache {
  readonly #sets = new Map<string, string[]>();
  readonly #maxSets: number;
  readonly #maxChars: number;
  #chars = 0;

  constructor(maxSets = 64, maxChars = 64 * 1024 * 1024) {
    this.#maxSets = maxSets;
    this.#maxChars = maxChars;
  }

  /** The messages under `key`, built by `build` unless kept. */
  get(key: string, build: () => string[]): string[] {
    const kept = this.#sets.get(key);
    if (kept) return kept;
    const made = build();
    const chars = size(made);
    for (const [k, old] of this.#sets) {
      if (this.#sets.size < this.#maxSets && this.#chars + chars <= this.#maxChars) break;
      this.#sets.delete(k);
      this.#chars -= size(old);
    }
    this.#sets.set(key, made);
    this.#chars += chars;
    return made;
  }

  /** Forgets everything: a new version makes every kept message stale. */
  clear(): void {
    this.#sets.clear();
    this.#chars = 0;
  }

  /** Characters held. */
  get chars(): number {
    return this.#chars;
  }
}

const size = (messages: string[]) => messages.reduce((n, m) => n + m.length, 0);
