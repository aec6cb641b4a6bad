import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { PUT_CHUNK_SQL } from './chunk-store.js';
import { DELETE_SCAN_SQL, PUT_SCAN_SQL, type ScanRecord } from './scan-index.js';

/** One transaction's worth of writes: chunks, and scan records to put (or paths to forget). */
export interface WriteBatch {
  chunks: readonly { hash: string; data: Buffer }[];
  scans?: ReadonlyMap<string, ScanRecord | null>;
}

/** What crosses to the thread: the chunks packed in one transferred buffer, so nothing is cloned twice. */
interface Posted {
  id: number;
  hashes: string[];
  sizes: number[];
  bytes: ArrayBuffer;
  puts: ScanRecord[];
  forgets: string[];
}

/** The batch's buffer comes back with the reply, to be filled again: the thread then holds none. */
type Reply = { id: number; error?: string; bytes: ArrayBuffer };

/** Buffers for packing are made at least this large, so that one fits most batches. */
const PACK_MIN_BYTES = 9 * 1024 * 1024;
/** Buffers kept for reuse. */
const POOL_SIZE = 4;

/**
 * The thread's code, plain JavaScript so that it runs the same from source (tsx, vitest) and
 * built. It opens its own connection to the store file (WAL lets the main one read meanwhile)
 * and writes each batch in one transaction, with the SQL the store's own classes use.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
const putChunk = db.prepare(workerData.sql.putChunk);
const putScan = db.prepare(workerData.sql.putScan);
const deleteScan = db.prepare(workerData.sql.deleteScan);
// Immediate: it takes the write lock as it begins (see writeTransaction).
const write = db.transaction((m) => {
  const bytes = Buffer.from(m.bytes);
  let at = 0;
  for (let i = 0; i < m.hashes.length; i++) {
    const size = m.sizes[i];
    putChunk.run(m.hashes[i], size, bytes.subarray(at, at + size));
    at += size;
  }
  for (const r of m.puts) putScan.run(r);
  for (const path of m.forgets) deleteScan.run(path);
});
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let error;
  try {
    write.immediate(m);
  } catch (err) {
    error = String((err && err.message) || err);
  }
  parentPort.postMessage({ id: m.id, error, bytes: m.bytes }, [m.bytes]);
});
`;

/**
 * Writes batches of chunks (and scan records) to a store from a thread of its own, so that a
 * bulk load (a first publish of a large tree) stores on one core while the caller reads and
 * hashes on the other. Batches are written in the order given, each in one transaction.
 */
export class BackgroundWriter {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #nextId = 0;
  readonly #pool: ArrayBuffer[] = [];
  #broken: Error | undefined;
  #closed = false;
  readonly #exited: Promise<void>;
  #gone = false;
  /** Batches written since start. */
  batches = 0;

  /** `driver` is the path better-sqlite3 is loaded from in the thread (the store's own by default). */
  constructor(file: string, opts: { driver?: string } = {}) {
    const driver = opts.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        driver,
        file,
        sql: { putChunk: PUT_CHUNK_SQL, putScan: PUT_SCAN_SQL, deleteScan: DELETE_SCAN_SQL },
      },
    });
    // An idle writer must not keep the process alive; one with batches in flight must.
    this.#worker.unref();
    this.#worker.on('message', (r: Reply) => this.#settle(r));
    this.#worker.on('error', (err) => this.#fail(err));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#gone = true;
        if (!this.#closed || this.#waiting.size > 0)
          this.#fail(new Error(`the store writer thread exited (${code})`));
        resolve();
      });
    });
  }

  /** Why the thread can write no more (it failed to start, or died), if it cannot. */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /** Writes a batch in one transaction; resolves once it is committed. */
  write(batch: WriteBatch): Promise<void> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#closed) return Promise.reject(new Error('the store writer is closed'));
    const posted = pack(++this.#nextId, batch, (n) => this.#buffer(n));
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(posted.id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(posted, [posted.bytes]);
    });
  }

  /** Finishes the batches posted, closes the thread's connection and ends the thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#gone) return;
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }

  /** A buffer of at least `n` bytes: a returned one when one fits. */
  #buffer(n: number): ArrayBuffer {
    const i = this.#pool.findIndex((b) => b.byteLength >= n);
    if (i >= 0) return this.#pool.splice(i, 1)[0]!;
    return new ArrayBuffer(Math.max(n, PACK_MIN_BYTES));
  }

  #settle(r: Reply) {
    if (r.bytes.byteLength >= PACK_MIN_BYTES && this.#pool.length < POOL_SIZE) this.#pool.push(r.bytes);
    const w = this.#waiting.get(r.id);
    if (!w) return;
    this.#waiting.delete(r.id);
    if (this.#waiting.size === 0) this.#worker.unref();
    if (r.error === undefined) {
      this.batches++;
      w.resolve();
    } else {
      w.reject(new Error(`storing a batch failed: ${r.error}`));
    }
  }

  #fail(err: Error) {
    this.#broken ??= err;
    for (const w of this.#waiting.values()) w.reject(this.#broken);
    this.#waiting.clear();
  }
}

/** Copies a batch's chunks into one buffer of their own (theirs may be views of larger, shared ones). */
function pack(id: number, batch: WriteBatch, buffer: (n: number) => ArrayBuffer): Posted {
  let total = 0;
  for (const c of batch.chunks) total += c.data.length;
  const bytes = buffer(total);
  const view = new Uint8Array(bytes);
  const hashes: string[] = [];
  const sizes: number[] = [];
  let at = 0;
  for (const c of batch.chunks) {
    view.set(c.data, at);
    at += c.data.length;
    hashes.push(c.hash);
    sizes.push(c.data.length);
  }
  const puts: ScanRecord[] = [];
  const forgets: string[] = [];
  for (const [path, rec] of batch.scans ?? []) {
    if (rec) puts.push(rec);
    else forgets.push(path);
  }
  return { id, hashes, sizes, bytes, puts, forgets };
}
