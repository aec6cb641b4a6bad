import { sha256Hex } from '@outpost/core';
import type { Store } from './store.js';

/** What takes a damaged chunk the scrub found: a replica fetches it again, a master reads it from its file. */
export interface ScrubRepair {
  damaged(hash: string, size: number, why: 'scrub'): unknown;
}

export interface ScrubberOptions {
  store: Store;
  repair: ScrubRepair;
  /** Bytes re-hashed per second, at most. */
  bytesPerSecond: number;
  /** Pause between full passes. */
  restMs?: number;
  /** How often it hashes its share of the rate (default 20 ms). */
  tickMs?: number;
  /** Takes an error a store read threw; true when it was damage (the scrub then stops), false to rest and go on. */
  onStoreError?: (err: unknown, where: string) => boolean;
  /** Told of a read error that was not damage, before the scrub rests and goes on. */
  log?: { error(obj: object, msg: string): void };
}

/**
 * Re-hashes every stored chunk in the background at a bounded rate and hands damaged ones to
 * the repairer: damage at rest is found whether or not anyone reads it.
 */
export class Scrubber {
  readonly #o: ScrubberOptions;
  #timer: NodeJS.Timeout | undefined;
  #after = 0;
  checked = 0;
  passes = 0;

  constructor(o: ScrubberOptions) {
    this.#o = o;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number) {
    this.#timer = setTimeout(() => this.#tick(), ms);
    this.#timer.unref();
  }

  #tick() {
    try {
      this.#pass();
    } catch (err) {
      // Damage SQLite itself finds (a page of the table, not a chunk's bytes) is for a new
      // store at the next start: the scrub stops rather than meet it at every pass.
      if (!this.#o.onStoreError) throw err;
      if (this.#o.onStoreError(err, 'the scrub')) return;
      // Any other error (an I/O error) is tried again after a rest.
      this.#o.log?.error({ err: (err as Error).message }, 'the scrub could not read the store; resting');
      this.#schedule(this.#o.restMs ?? 60_000);
    }
  }

  #pass() {
    const tickMs = this.#o.tickMs ?? 20;
    // Small turns, one chunk read at a time, so readers are served between them: a page of 16
    // chunks every 100 ms read and hashed up to 4 MiB in one turn of the event loop, 4–7 ms
    // here with 256 KiB chunks, against 0.3–0.7 ms for one such chunk.
    const budget = Math.max(1, (this.#o.bytesPerSecond * tickMs) / 1000);
    let spent = 0;
    while (spent < budget) {
      const row = this.#o.store.chunks.page(this.#after, 1)[0];
      if (!row) {
        this.#after = 0;
        this.passes++;
        this.#schedule(this.#o.restMs ?? 60_000);
        return;
      }
      this.#after = row.rowid;
      spent += row.data.length;
      this.checked++;
      if (row.data.length !== row.size || sha256Hex(row.data) !== row.hash) {
        // Handed over, not awaited: the repair's errors are its own to report.
        void this.#o.repair.damaged(row.hash, row.size, 'scrub');
      }
    }
    // What was read is paid for before the next turn: a chunk larger than a turn's share (64 KiB
    // at 256 KiB/s is 250 ms of it) read every turn made a floor of 50 chunks a second, 3.5 MB/s
    // asked for as 256 KiB/s.
    this.#schedule(Math.max(tickMs, Math.ceil((spent * 1000) / this.#o.bytesPerSecond)));
  }
}
