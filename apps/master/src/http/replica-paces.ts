import { TokenBucket } from '@outpost/core';

/** Most names kept; the least recently used is forgotten first (and starts again with a burst). */
const MAX_NAMES = 4096;

/**
 * The pace of each replica that asked for a rate (its --max-rate), shared by all its batches
 * in flight, so that two at once still add up to the cap. A new rate starts a new pace.
 */
export class ReplicaPaces {
  readonly #paces = new Map<string, { rate: number; bucket: TokenBucket }>();

  /** The pace for `name` at `rate` bytes per second; a request without a name gets one of its own. */
  get(name: string | undefined, rate: number, now = Date.now()): TokenBucket {
    if (name === undefined) return new TokenBucket(rate, undefined, now);
    let p = this.#paces.get(name);
    // Taken out and put back: a Map keeps insertion order, so the first key is the least recent.
    if (p) this.#paces.delete(name);
    if (!p || p.rate !== rate) p = { rate, bucket: new TokenBucket(rate, undefined, now) };
    this.#paces.set(name, p);
    if (this.#paces.size > MAX_NAMES) {
      const oldest = this.#paces.keys().next().value;
      if (oldest !== undefined) this.#paces.delete(oldest);
    }
    return p.bucket;
  }

  /** How many replicas have a pace now. */
  get size(): number {
    return this.#paces.size;
  }
}
