/**
 * A least-recently-used cache of small response bodies, bounded by total bytes. Keys name
 * immutable content (a hash, with its coding), so entries never go stale; they only age out.
 */
export class BodyCache {
  readonly #max: number;
  readonly #maxEntry: number;
  readonly #map = new Map<string, Buffer>();
  #bytes = 0;
  /** The key last marked as used: the newest in the map's order. */
  #last: string | undefined;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number, maxEntryBytes: number) {
    this.#max = maxBytes;
    this.#maxEntry = maxEntryBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The body, marked as just used; or undefined. */
  get(key: string): Buffer | undefined {
    const body = this.#map.get(key);
    if (body === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Marked as just used by moving it to the end, unless it is there already (one hot file).
    if (key !== this.#last) {
      this.#map.delete(key);
      this.#map.set(key, body);
      this.#last = key;
    }
    return body;
  }

  /** Keeps a body if it is small enough, evicting the least recently used to make room. */
  set(key: string, body: Buffer): void {
    if (body.length > this.#maxEntry || body.length > this.#max) return;
    const old = this.#map.get(key);
    if (old) {
      this.#bytes -= old.length;
      this.#map.delete(key);
    }
    this.#map.set(key, body);
    this.#last = key;
    this.#bytes += body.length;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#max) break;
      this.#map.delete(k);
      this.#bytes -= v.length;
    }
  }
}
