/** What an entry costs beside its bytes: the key and the map's own bookkeeping, roughly. */
const ENTRY_OVERHEAD = 128;

/**
 * The wire form of chunks asked for more than once: deflated bytes, or null for "sent raw".
 * Replicas taking the same large change ask for the same chunks at about the same time, and
 * without it the master deflated each chunk once per replica. A chunk is kept from its second
 * request on, so a lone replica's sync (each chunk asked for once) keeps nothing but hashes.
 * Keys are content addresses, so an entry never goes stale; entries age out, least recently
 * used first, beyond `maxBytes`.
 */
export class PackedChunks {
  readonly #maxBytes: number;
  readonly #maxSeen: number;
  /** Hashes asked for once, oldest first. */
  readonly #seen = new Set<string>();
  readonly #kept = new Map<string, Buffer | null>();
  #bytes = 0;
  hits = 0;

  constructor(maxBytes = 32 * 1024 * 1024, maxSeen = 65_536) {
    this.#maxBytes = maxBytes;
    this.#maxSeen = maxSeen;
  }

  /** Bytes held, bookkeeping included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The kept wire form of a chunk (null: it goes raw), marked as just used; undefined if not kept. */
  get(hash: string): Buffer | null | undefined {
    const packed = this.#kept.get(hash);
    if (packed === undefined) return undefined;
    this.hits++;
    this.#kept.delete(hash);
    this.#kept.set(hash, packed);
    return packed;
  }

  /** Notes the wire form just worked out for a chunk; it is kept if the chunk was asked for before. */
  offer(hash: string, packed: Buffer | null): void {
    if (!this.#seen.delete(hash)) {
      this.#seen.add(hash);
      if (this.#seen.size > this.#maxSeen) this.#seen.delete(this.#seen.values().next().value!);
      return;
    }
    const cost = (packed?.length ?? 0) + ENTRY_OVERHEAD;
    if (cost > this.#maxBytes) return;
    // A copy of its own size: deflate's result is a view of a buffer as large as the input.
    this.#kept.set(hash, packed && Buffer.from(packed));
    this.#bytes += cost;
    for (const [k, v] of this.#kept) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#kept.delete(k);
      this.#bytes -= (v?.length ?? 0) + ENTRY_OVERHEAD;
    }
  }
}
