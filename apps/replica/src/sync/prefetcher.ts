import type { ChunkRef } from '@outpost/core';
import { type FetchingAhead, LIMITS } from '@outpost/protocol';
import { runYielding } from '@outpost/service';
import { dropUnusedChunkSteps, type Store } from '@outpost/store';
import type { Logger } from 'pino';
import { type ApplyDeps, roomNeeded } from './apply-manifest.js';
import { type FetchedChunk, keepIntact } from './keep-intact.js';

/**
 * Bytes asked for in one request: half a version fetch's batch, so an apply that waits for
 * the requests in flight (see pause) waits for little.
 */
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Most chunks waiting to be fetched ahead (about 4 GiB of 64 KiB chunks, a few MiB of
 * memory): what is told past it is left to the version's own fetch.
 */
const MAX_QUEUED = 65_536;

export interface PrefetcherOptions {
  store: Store;
  log: Logger;
  fetchBatch: NonNullable<ApplyDeps['fetchBatch']>;
  /** As a version's fetch: nothing is fetched ahead that would leave less than `reserve` free. */
  diskSpace?: ApplyDeps['diskSpace'];
  /** Requests at once (default 2). */
  concurrency?: number;
}

interface Told extends ChunkRef {
  version: number;
}

/**
 * Fetches the chunks a master tells while it is still reading a large change (`prefetch`
 * messages), so that once the version is cut little is left to fetch. Chunks are verified
 * against their address and stored as a version's fetch stores them; until a version that
 * names them is applied no version does, so each is remembered with the version it was told
 * for, and dropped if that version (or a later one) is applied without it.
 *
 * It runs only between applies: an apply pauses it first (waiting for the requests in
 * flight), so nothing is fetched twice, and resumes it when done.
 */
export class Prefetcher {
  readonly #o: PrefetcherOptions;
  #queue: Told[] = [];
  #head = 0;
  /** Chunks fetched ahead, by the version they were told for, until one at or past it is applied. */
  readonly #held = new Map<string, number>();
  /** Bytes fetched ahead, by the version they were told for. */
  readonly #heldBytes = new Map<number, number>();
  #running = 0;
  #started = false;
  #paused = false;
  /** The newest version chunks were told for. */
  #newest = 0;
  /** Chunks told for this version or before are for `#laterTo` (see later): applies to fetches in flight. */
  #laterFrom = -1;
  #laterTo = -1;
  /** Discarded at a stop: nothing more is asked for or stored. */
  #stopped = false;
  #idle: (() => void)[] = [];
  /** The disk had no room for what was told: nothing more is fetched ahead until a version is applied. */
  #full = false;
  /** Bytes and chunks fetched ahead and stored, since start. */
  bytes = 0;
  chunks = 0;
  /** Chunks fetched ahead that the version applied did not name, dropped again. */
  dropped = 0;

  constructor(o: PrefetcherOptions) {
    this.#o = o;
  }

  /** Chunks fetched ahead that no applied version names yet. */
  get held(): number {
    return this.#held.size;
  }

  /** What is fetched ahead and still to fetch, for status; null when nothing is. */
  get ahead(): FetchingAhead | null {
    const queued = this.#queue.length - this.#head;
    if (this.#held.size === 0 && queued === 0) return null;
    let bytes = 0;
    for (const n of this.#heldBytes.values()) bytes += n;
    return { version: this.#newest, chunks: this.#held.size, bytes, queued };
  }

  /** Starts fetching what is told (at start, the store's sweep must be done first). */
  start(): void {
    this.#started = true;
    this.#pump();
  }

  /** Takes a master's word that these chunks are stored for `version`. */
  offer(version: number, chunks: readonly ChunkRef[]): void {
    if (this.#stopped) return;
    this.#newest = Math.max(this.#newest, version);
    for (const { hash, size } of chunks) {
      if (this.#queue.length - this.#head >= MAX_QUEUED) break;
      this.#queue.push({ hash, size, version });
    }
    this.#pump();
  }

  /**
   * The master's word that the chunks told for `from` or before are for `to` now: a version
   * took the number they were told for while the change they belong to (a large file in the
   * lane) was still being read. Kept past that version, not dropped there and fetched again.
   */
  later(from: number, to: number): void {
    if (this.#stopped || to <= from) return;
    this.#laterFrom = Math.max(this.#laterFrom, from);
    this.#laterTo = Math.max(this.#laterTo, to);
    this.#newest = Math.max(this.#newest, to);
    for (const c of this.#queue) if (c.version <= from) c.version = to;
    for (const [hash, v] of this.#held) if (v <= from) this.#held.set(hash, to);
    let moved = 0;
    for (const [v, n] of this.#heldBytes) {
      if (v > from) continue;
      moved += n;
      this.#heldBytes.delete(v);
    }
    if (moved > 0) this.#heldBytes.set(to, (this.#heldBytes.get(to) ?? 0) + moved);
  }

  /** The version a chunk told for `version` is for now (see later). */
  #forNow(version: number): number {
    return version <= this.#laterFrom ? Math.max(version, this.#laterTo) : version;
  }

  /** Stops taking up requests and resolves once none is in flight: an apply is about to fetch. */
  pause(): Promise<void> {
    this.#paused = true;
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Goes on after an apply. */
  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /**
   * Version `version` is applied: what was told for it or before is not needed ahead any more;
   * the chunks fetched ahead for those that it does not name are dropped. Runs where applies
   * run (the sync engine's queue), never beside a fetch of this prefetcher (paused).
   */
  async applied(version: number): Promise<void> {
    this.#full = false;
    await this.#settle(version, 'applied');
  }

  /**
   * Version `version` was refused for lack of room (the disk full, or not enough of it for the
   * version): what was fetched ahead for it or before is dropped at once, as after an apply.
   * Kept, it held the room that versions needing no new chunk lacked, and they were refused
   * too. Nothing more is fetched ahead until a version is applied.
   */
  async refused(version: number): Promise<void> {
    this.#full = true;
    await this.#settle(version, 'refused');
  }

  /** Forgets what was told for `version` or before, and drops the chunks fetched ahead for it that no version names. */
  async #settle(version: number, how: 'applied' | 'refused'): Promise<void> {
    const rest = this.#queue.slice(this.#head).filter((c) => c.version > version);
    this.#queue = rest;
    this.#head = 0;
    const settled: string[] = [];
    for (const [hash, v] of this.#held) {
      if (v > version) continue;
      settled.push(hash);
      this.#held.delete(hash);
    }
    let bytes = 0;
    for (const [v, n] of this.#heldBytes) {
      if (v > version) continue;
      bytes += n;
      this.#heldBytes.delete(v);
    }
    if (settled.length === 0) return;
    const dropped = await runYielding(dropUnusedChunkSteps(this.#o.store, settled));
    this.dropped += dropped;
    this.#o.log.info(
      { version, chunks: settled.length, bytes, unused: dropped },
      how === 'applied'
        ? 'chunks fetched ahead of the version settled'
        : 'chunks fetched ahead of a version refused for lack of room dropped',
    );
  }

  /**
   * Stops for good and drops every chunk fetched ahead that no version names (a stop: no sweep
   * is then needed). It does not wait for the requests in flight (a master gone quiet would
   * hold the stop): what they bring is no longer stored.
   */
  discard(): void {
    this.#stopped = true;
    this.#queue = [];
    this.#head = 0;
    const all = [...this.#held.keys()];
    this.#held.clear();
    this.#heldBytes.clear();
    try {
      const steps = dropUnusedChunkSteps(this.#o.store, all);
      let s = steps.next();
      while (!s.done) s = steps.next();
      this.dropped += s.value;
    } catch (err) {
      // A full disk may refuse even a delete: the stop goes on, and what is left is litter
      // a later sweep collects.
      this.#o.log.warn({ err: (err as Error).message }, 'could not drop the chunks fetched ahead');
    }
  }

  #pump() {
    const most = this.#o.concurrency ?? 2;
    while (this.#started && !this.#paused && !this.#full && !this.#stopped && this.#running < most) {
      const batch = this.#take();
      if (batch.length === 0) break;
      this.#running++;
      void this.#fetch(batch).finally(() => {
        this.#running--;
        if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
        this.#pump();
      });
    }
  }

  /** The next batch of told chunks the store lacks (several hundred looked up at a time). */
  #take(): Told[] {
    while (this.#head < this.#queue.length) {
      const picked: Told[] = [];
      let bytes = 0;
      while (
        this.#head < this.#queue.length &&
        picked.length < LIMITS.maxBatchChunks &&
        (picked.length === 0 || bytes + this.#queue[this.#head]!.size <= BATCH_BYTES)
      ) {
        const c = this.#queue[this.#head++]!;
        picked.push(c);
        bytes += c.size;
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      const lacking = new Set(this.#o.store.chunks.missing(picked.map((c) => c.hash)));
      const wanted: Told[] = [];
      for (const c of picked) {
        if (!lacking.delete(c.hash)) continue;
        wanted.push(c);
      }
      if (wanted.length > 0) return wanted;
    }
    return [];
  }

  async #fetch(batch: Told[]): Promise<void> {
    const told = new Map(batch.map((c) => [c.hash, c]));
    if (!this.#room(batch)) return;
    const keep = (chunks: FetchedChunk[]): string[] => {
      if (this.#stopped) return chunks.map((c) => c.hash);
      let kept: ReturnType<typeof keepIntact>;
      try {
        kept = keepIntact(this.#o.store, chunks, (hash) => told.get(hash)?.size);
      } catch (err) {
        storeRefused = err as Error;
        throw err;
      }
      for (const c of kept.kept) {
        // Told for a version that has since made way for a later one (see later).
        const version = this.#forNow(told.get(c.hash)!.version);
        this.#held.set(c.hash, version);
        this.#heldBytes.set(version, (this.#heldBytes.get(version) ?? 0) + c.data.length);
        this.bytes += c.data.length;
        this.chunks++;
      }
      return kept.refused;
    };
    let storeRefused: Error | undefined;
    try {
      await this.#o.fetchBatch(batch, keep);
    } catch (err) {
      if (storeRefused) {
        // A full disk, say: the version's own fetch will say so, with the space it needs.
        this.#full = true;
        this.#o.log.warn(
          { err: storeRefused.message },
          'the store refused chunks fetched ahead; fetching none ahead until a version is applied',
        );
        return;
      }
      // Not asked again: whatever did not come, the version's own fetch gets.
      this.#o.log.debug(
        { err: (err as Error).message, chunks: batch.length },
        'fetching chunks ahead failed',
      );
    }
  }

  /** False (and nothing more fetched ahead until a version is applied) when the batch would crowd the disk. */
  #room(batch: readonly Told[]): boolean {
    const space = this.#o.diskSpace;
    if (!space) return true;
    let needed = 0;
    for (const c of batch) needed += c.size;
    // Their WAL too, as a version's fetch counts it: what is fetched ahead goes the same way.
    const { wal } = roomNeeded(needed, space, this.#o.store);
    if (needed + wal + space.reserve <= space.free()) return true;
    this.#full = true;
    this.#o.log.info(
      { needed, reserve: space.reserve },
      'not fetching chunks ahead: the store has no room for them now; the version fetches what it needs',
    );
    return false;
  }
}
