import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WAL_CAP_BYTES } from './free-space.js';
import type { Store } from './store.js';

/** SQLite's own default: checkpoint once the WAL holds this many pages. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * The thread's code, plain JavaScript so that it runs the same from source (tsx, vitest) and
 * built. It watches the WAL file's mtime (a stat, microseconds) and runs a passive checkpoint
 * when the WAL was written since the last one: passive never waits for, nor blocks, a writer.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const wal = workerData.file + '-wal';
let seen = -1;
let behind = false;
// A drain the main connection waits for: answered by the first checkpoint that copies the whole WAL.
let wanted = 0;
function tick() {
  let mtime;
  try {
    mtime = statSync(wal).mtimeMs;
  } catch (err) {
    if (err && err.code === 'ENOENT') return;
    throw err;
  }
  if (mtime === seen && !behind) return;
  seen = mtime;
  const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
  // A reader still on old frames holds the rest back: try again at the next tick.
  behind = r.busy !== 0 || r.checkpointed < r.log;
  const answer = behind ? 0 : wanted;
  if (!behind) wanted = 0;
  parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed, drained: answer });
}
// A failure ends the thread's looking: the main connection checkpoints by itself again.
function look() {
  try {
    tick();
  } catch (err) {
    clearInterval(timer);
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
}
const timer = setInterval(look, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (typeof m === 'number') {
    // The main connection waits for the WAL to drain: look at once, whatever the mtime says.
    wanted = m;
    seen = -1;
    look();
    return;
  }
  if (m !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** Options of {@link WalCheckpointer}. */
export interface WalCheckpointerOptions {
  /** How often the thread looks at the WAL, in ms (default 100). */
  intervalMs?: number;
  /** Where the thread loads better-sqlite3 from (the store's own by default). */
  driver?: string;
  /**
   * Bytes the main connection may write after the WAL last drained before {@link WalCheckpointer.room}
   * asks it to wait for the next drain (default 64 MiB).
   */
  capBytes?: number;
  /** The longest {@link WalCheckpointer.room} waits for a drain (default 5 s): a reader pinning old frames only lets the WAL grow. */
  maxWaitMs?: number;
}

interface ThreadMessage {
  error?: string;
  log?: number;
  /** The drain this checkpoint answers (0: none). */
  drained?: number;
}

/**
 * Moves a store's WAL checkpoints to a thread of its own. In WAL mode with synchronous=NORMAL
 * a commit only appends to the WAL; the checkpoint copies pages to the database file and
 * fsyncs both, and it runs inside whichever commit crosses the threshold. In a bulk load (a
 * replica's first sync) those checkpoints were half of the main thread's time in SQLite
 * (0.5 of 0.9 s for 250 MiB), most of it waiting on fsync. Here the main connection never
 * checkpoints while the thread runs; should the thread fail, it checkpoints as before.
 */
export class WalCheckpointer {
  readonly #store: Store;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #capBytes: number;
  readonly #maxWaitMs: number;
  #closed = false;
  #broken: Error | undefined;
  #sinceDrain = 0;
  #drain: { id: number; promise: Promise<void>; resolve: () => void; timer: NodeJS.Timeout } | undefined;
  /** Checkpoints run that found frames to copy. */
  checkpoints = 0;
  /** Times {@link room} made the writer wait. */
  waits = 0;

  constructor(store: Store, opts: WalCheckpointerOptions = {}) {
    this.#store = store;
    const driver = opts.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    this.#capBytes = opts.capBytes ?? WAL_CAP_BYTES;
    this.#maxWaitMs = opts.maxWaitMs ?? 5000;
    this.#worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { driver, file: store.path, intervalMs: opts.intervalMs ?? 100 },
    });
    this.#worker.unref();
    store.db.pragma('wal_autocheckpoint = 0');
    this.#worker.on('message', (m: ThreadMessage) => {
      if (m.error !== undefined) return this.#fail(new Error(`the WAL checkpointer failed: ${m.error}`));
      if ((m.log ?? 0) > 0) this.checkpoints++;
      if (m.drained && m.drained === this.#drain?.id) this.#drained();
    });
    this.#worker.on('error', (err) => this.#fail(new Error(`the WAL checkpointer failed: ${err.message}`)));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        if (!this.#closed) this.#fail(new Error(`the WAL checkpointer thread exited (${code})`));
        resolve();
      });
    });
  }

  /** Counts bytes the main connection is about to write to the WAL. */
  wrote(bytes: number): void {
    this.#sinceDrain += bytes;
  }

  /**
   * Resolves once the writer may go on: at once (undefined) until it has written the cap since
   * the last pause, else once the thread has copied the whole WAL. A passive checkpoint seldom
   * catches up with a writer that keeps appending, and SQLite starts the WAL over only at a
   * write that finds it wholly copied; without a pause the WAL of a first sync grew to most of
   * the data (210 MiB of 250 here), on disk and in pages this machine charges for on first touch.
   */
  room(): Promise<void> | undefined {
    if (this.#sinceDrain < this.#capBytes || this.#closed || this.#broken) return undefined;
    if (!this.#drain) {
      this.waits++;
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      // Past the deadline the writer goes on and the WAL grows, as it did without a cap.
      const timer = setTimeout(() => this.#drained(), this.#maxWaitMs).unref();
      // Only a checkpoint run after this point counts: one from before the writer paused
      // may have drained a WAL that has grown since.
      this.#drain = { id: this.waits, promise, resolve, timer };
      this.#worker.postMessage(this.waits);
    }
    return this.#drain.promise;
  }

  /** Why checkpoints went back to the main connection, if they did. */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /** Ends the thread; the main connection checkpoints by itself again (and at its close). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#restore();
    this.#drained();
    this.#worker.postMessage('close');
    await this.#exited;
  }

  #drained() {
    this.#sinceDrain = 0;
    const drain = this.#drain;
    this.#drain = undefined;
    if (!drain) return;
    clearTimeout(drain.timer);
    drain.resolve();
  }

  #fail(err: Error) {
    if (this.#broken || this.#closed) return;
    this.#broken = err;
    this.#restore();
    this.#drained();
  }

  #restore() {
    if (this.#store.db.open) this.#store.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}
