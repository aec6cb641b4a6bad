import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
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
  parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed });
}
const timer = setInterval(() => {
  try {
    tick();
  } catch (err) {
    clearInterval(timer);
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
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
  #closed = false;
  #broken: Error | undefined;
  /** Checkpoints run that found frames to copy. */
  checkpoints = 0;

  constructor(store: Store, opts: WalCheckpointerOptions = {}) {
    this.#store = store;
    const driver = opts.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { driver, file: store.path, intervalMs: opts.intervalMs ?? 100 },
    });
    this.#worker.unref();
    store.db.pragma('wal_autocheckpoint = 0');
    this.#worker.on('message', (m: { error?: string; log?: number }) => {
      if (m.error !== undefined) this.#fail(new Error(`the WAL checkpointer failed: ${m.error}`));
      else if ((m.log ?? 0) > 0) this.checkpoints++;
    });
    this.#worker.on('error', (err) => this.#fail(new Error(`the WAL checkpointer failed: ${err.message}`)));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        if (!this.#closed) this.#fail(new Error(`the WAL checkpointer thread exited (${code})`));
        resolve();
      });
    });
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
    this.#worker.postMessage('close');
    await this.#exited;
  }

  #fail(err: Error) {
    if (this.#broken || this.#closed) return;
    this.#broken = err;
    this.#restore();
  }

  #restore() {
    if (this.#store.db.open) this.#store.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}
