import type { Store } from './store.js';
import { WalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer.js';

/** Options of {@link BulkCheckpoints}. */
export interface BulkCheckpointsOptions extends WalCheckpointerOptions {
  /**
   * Bytes written since the last end() before the thread starts (default 16 MiB: about what
   * SQLite's own threshold of 1000 pages of 16 KiB holds, so a smaller change would not have
   * checkpointed at all).
   */
  startAfterBytes?: number;
}

/**
 * Checkpoints from a thread only while a bulk load is under way (a replica's first sync, a
 * large change), and from the main connection otherwise. A thread per store held for good
 * would cost a process running many replicas (the scale bench: 100 in a few processes) an
 * isolate each, for changes that mostly never reach SQLite's checkpoint threshold.
 */
export class BulkCheckpoints {
  readonly #store: Store;
  readonly #opts: BulkCheckpointsOptions;
  readonly #startAfter: number;
  #written = 0;
  #thread: WalCheckpointer | undefined;
  /** Threads started so far. */
  started = 0;

  constructor(store: Store, opts: BulkCheckpointsOptions = {}) {
    this.#store = store;
    this.#opts = opts;
    this.#startAfter = opts.startAfterBytes ?? 16 * 1024 * 1024;
  }

  /** True while the thread runs. */
  get running(): boolean {
    return this.#thread !== undefined;
  }

  /** Counts bytes written; starts the thread once the load is large enough to need it. */
  wrote(bytes: number): void {
    this.#written += bytes;
    if (this.#thread) {
      this.#thread.wrote(bytes);
      return;
    }
    if (this.#written < this.#startAfter) return;
    this.#thread = new WalCheckpointer(this.#store, this.#opts);
    this.started++;
  }

  /** While the thread runs: waits, when the WAL is past its cap, for the thread to drain it (see {@link WalCheckpointer.room}). */
  room(): Promise<void> | undefined {
    return this.#thread?.room();
  }

  /** The load is over: ends the thread (the main connection checkpoints again) and starts counting anew. */
  async end(): Promise<void> {
    this.#written = 0;
    const thread = this.#thread;
    this.#thread = undefined;
    await thread?.close();
  }
}
