import { sha256Hex } from '@outpost/core';
import type { Store } from '@outpost/store';
import type { ChunkRepair } from './chunk-repair.js';

export interface ScrubberOptions {
  store: Store;
  repair: ChunkRepair;
  /** Bytes re-hashed per second, at most. */
  bytesPerSecond: number;
  /** Pause between full passes. */
  restMs?: number;
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
    const TICK_MS = 100;
    const budget = Math.max(1, (this.#o.bytesPerSecond * TICK_MS) / 1000);
    let spent = 0;
    while (spent < budget) {
      const rows = this.#o.store.chunks.page(this.#after, 16);
      if (rows.length === 0) {
        this.#after = 0;
        this.passes++;
        this.#schedule(this.#o.restMs ?? 60_000);
        return;
      }
      for (const row of rows) {
        this.#after = row.rowid;
        spent += row.data.length;
        this.checked++;
        if (row.data.length !== row.size || sha256Hex(row.data) !== row.hash) {
          void this.#o.repair.damaged(row.hash, row.size, 'scrub');
        }
      }
    }
    this.#schedule(TICK_MS);
  }
}
