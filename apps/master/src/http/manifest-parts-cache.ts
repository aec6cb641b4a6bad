import type { Manifest } from '@outpost/protocol';

/** How long a manifest cut into parts is kept for the replica reading it part by part. */
const TTL_MS = 60_000;
/** Most manifests kept at once: a fleet syncing from a handful of starting points. */
const MAX_ENTRIES = 8;

interface Entry {
  parts: Manifest[];
  at: number;
}

/**
 * The parts of recently asked pull manifests, so a replica reading part after part costs one
 * build of the manifest rather than one per part.
 */
export class ManifestPartsCache {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The parts for (from, root) → target, built by `build` unless recently built. */
  get(
    from: number,
    root: string | undefined,
    target: { version: number; root: string },
    build: () => Manifest[],
  ): Manifest[] {
    const key = `${from}:${root ?? ''}:${target.version}:${target.root}`;
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < TTL_MS) {
      hit.at = now;
      // Map order is the eviction order: a hit moves to the back.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.parts;
    }
    for (const [k, e] of this.#entries) if (now - e.at >= TTL_MS) this.#entries.delete(k);
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    const parts = build();
    this.#entries.delete(key);
    this.#entries.set(key, { parts, at: now });
    return parts;
  }
}
