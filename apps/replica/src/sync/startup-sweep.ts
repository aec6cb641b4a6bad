import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isOutOfSpace, type Store, sweepSteps, takeCleanShutdown, truncateWal } from '@outpost/store';
import type { Logger } from 'pino';
import { backoffDelay } from './backoff.js';

export interface StartupSweepOptions {
  store: Store;
  log: Logger;
  /** Runs the job where applies run (SyncEngine.exclusive): nothing is stored while it sweeps. */
  exclusive: (job: () => Promise<void>) => Promise<void>;
  /** True while a manifest's parts are being taken in: their chunks are stored, not yet named. */
  busy?: () => boolean;
  /** Why the sweep cannot be done, for status; null once it is done. */
  trouble: (message: string | null) => void;
  /**
   * The contents readers are streaming now. One a prune has just unlinked from every version
   * (the replica caught up as it started, while a reader had the version before) is still
   * read from: swept, its chunks went from under the stream and the reader's body was cut.
   * The prune that spared it lists it for its next run, which collects it once it is free.
   */
  inUse?: { has(hash: string): boolean };
  /** Called once the sweep is done (or was not needed): fetching ahead may start. */
  done: () => void;
  /** First delay before a failed sweep is tried again; it doubles up to retryMaxMs (default 1 s to 60 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * The start's sweep for what a crash (or a fetch cut short) left unreferenced. After a stop
 * that was not clean it waits for {@link StartupSweep.release}: until the replica holds the
 * master's version, the chunks no version names are most likely a download cut short, which
 * the next fetch takes up where it stopped (swept at once, a replica killed mid-way through a
 * first sync of gigabytes fetched them all again). It deletes, so it needs room in the WAL: on
 * a full disk it fails. A replica must still start then and serve the version it holds (it
 * used to let the failure go unhandled, and Node exited at every start); the failure is shown
 * in status, and the sweep is tried again, with a backoff, until it goes through (the disk
 * freed, or a version applied that made room).
 */
export class StartupSweep {
  readonly #o: StartupSweepOptions;
  /** Whether the last stop was clean, once known (the mark is taken with the first try). */
  #clean: boolean | undefined;
  #pending = false;
  /** Whether the sweep may delete (see release). */
  #released = false;
  #attempts = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The latest try, for tests and a stop that waits. */
  running: Promise<void> = Promise.resolve();

  constructor(o: StartupSweepOptions) {
    this.#o = o;
  }

  /** True until the sweep is done: the store must not be marked as stopped cleanly meanwhile. */
  get pending(): boolean {
    return this.#pending;
  }

  /** Takes the clean-stop mark and sweeps if the last stop was not clean. */
  start(): void {
    this.#pending = true;
    this.#try();
  }

  /**
   * Lets the sweep go: the replica holds the master's version (what is left unreferenced is
   * litter now), or needs the room. Called again, it does nothing.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#pending && this.#clean === false) this.#try();
  }

  /** No more tries. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #try() {
    if (this.#stopped) return;
    this.running = this.#o.exclusive(() => this.#sweep());
  }

  async #sweep(): Promise<void> {
    if (this.#stopped || !this.#pending) return;
    try {
      // Taken inside the try: on a full disk even deleting the mark may fail.
      this.#clean ??= takeCleanShutdown(this.#o.store);
      if (!this.#clean) {
        // Kept for the fetch to come; release() tries again.
        if (!this.#released) return;
        // A manifest in parts stores its chunks before any version names them: not litter.
        if (this.#o.busy?.()) return this.#retry();
        const steps = sweepSteps(this.#o.store, this.#o.inUse ? { protect: this.#o.inUse } : {});
        for (let s = steps.next(); ; s = steps.next()) {
          if (s.done) {
            if (s.value.chunks + s.value.contents > 0) this.#o.log.info(s.value, 'swept unreferenced chunks');
            break;
          }
          await yieldToLoop();
          if (this.#stopped) return;
        }
      }
    } catch (err) {
      const message = (err as Error).message;
      this.#o.trouble(
        `could not sweep the store for unreferenced chunks: ${message}; serving what it holds, trying again`,
      );
      this.#o.log.error(
        { err: message },
        'sweeping the store failed; serving the version held, trying again later',
      );
      // What a full disk needs to go on: the room the WAL holds, given back where it can be.
      if (isOutOfSpace(err)) truncateWal(this.#o.store.db, this.#o.store.path);
      return this.#retry();
    }
    this.#pending = false;
    if (this.#attempts > 0) this.#o.trouble(null);
    this.#o.done();
  }

  #retry() {
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempts++, this.#o.retryMinMs ?? 1000, this.#o.retryMaxMs ?? 60_000);
    this.#timer = setTimeout(() => this.#try(), delay);
    this.#timer.unref();
  }
}
