import type { ChunkRef } from '@outpost/core';
import {
  BackgroundWriter,
  type ScanRecord,
  type Store,
  writeRoomProblem,
  writeTransaction,
} from '@outpost/store';
import type { ChunkSink } from './read-file.js';

/** Most bytes of chunks held before they are written. */
const FLUSH_BYTES = 8 * 1024 * 1024;
/** Most writes held before they are written. */
const FLUSH_WRITES = 2048;
/** Most bytes handed to the writer thread and not yet committed: past it, readers wait (see room). */
const IN_FLIGHT_BYTES = 4 * FLUSH_BYTES;

/** A batch handed to the writer thread, with its scan records (still to be seen by lookups). */
interface InFlight {
  bytes: number;
  scans: Map<string, ScanRecord | null>;
  done: Promise<void>;
}

export interface WriteBufferOptions {
  /** Starts a writer thread for the store file (tests give one that cannot start). */
  startWriter?: (file: string) => BackgroundWriter;
  /**
   * Told the chunks put through `ahead` once they are committed, while more of the change is
   * still being read: replicas may fetch them before the version is cut. Not told of what
   * drain() commits (the version follows at once).
   */
  onStoredAhead?: (chunks: ChunkRef[]) => void;
  /**
   * Why `bytes` more would not fit the store's volume with room to spare, or null (default:
   * {@link writeRoomProblem}). A batch that would not is refused before it is written.
   */
  roomProblem?: (bytes: number) => string | null;
}

/** A batch refused before it was written: the store's volume has no room for it. */
export class NoRoomError extends Error {
  override name = 'NoRoomError';
}

/**
 * Gathers the publisher's writes (chunks and scan records) and puts them in the store in one
 * transaction per few megabytes: a commit per file would cost more than reading the file.
 * Full batches are written from a thread of their own: a bulk load then stores on one core
 * while files are read and hashed on another. The last, partial batch of a change is written
 * on the calling thread, so a small change never waits on a thread.
 * Everything is written before a version is committed (see drain), so a version never names a
 * chunk that is not stored; what a crash loses before that was never published.
 */
export class WriteBuffer {
  readonly #store: Store;
  /** False once a writer thread could not run here: everything is then written on this thread. */
  #background = true;
  readonly #startWriter: (file: string) => BackgroundWriter;
  #chunks: { hash: string; data: Buffer }[] = [];
  /** The queued chunks put through `ahead`. */
  #ahead: ChunkRef[] = [];
  readonly #onStoredAhead: ((chunks: ChunkRef[]) => void) | undefined;
  #scans = new Map<string, ScanRecord | null>();
  #bytes = 0;
  readonly #write: () => void;
  #writer: BackgroundWriter | undefined;
  /** Batches with the writer thread, oldest first. */
  #inFlight: InFlight[] = [];
  /** The first failure of a batch written in the background, thrown at the next room() or drain(). */
  #failure: unknown;
  readonly #roomProblem: (bytes: number) => string | null;
  /** Hashes of the chunks put since track(), while tracking (see track). */
  #tracked: string[] | null = null;

  constructor(store: Store, opts: WriteBufferOptions = {}) {
    this.#store = store;
    this.#startWriter = opts.startWriter ?? ((file) => new BackgroundWriter(file));
    this.#onStoredAhead = opts.onStoredAhead;
    this.#roomProblem = opts.roomProblem ?? ((bytes) => writeRoomProblem(store.db, store.path, bytes));
    const buffer = this;
    this.ahead = {
      put: (hash, data) => {
        this.#ahead.push({ hash, size: data.length });
        this.put(hash, data);
      },
      room: () => this.room(),
      get crowded() {
        return buffer.crowded;
      },
    };
    this.#write = writeTransaction(store.db, () => {
      this.#store.chunks.putMany(this.#chunks);
      for (const [path, rec] of this.#scans) {
        if (rec) this.#store.scanIndex.put(rec);
        else this.#store.scanIndex.delete(path);
      }
    });
  }

  /** A sink whose chunks are told to onStoredAhead once committed (chunks no manifest patch may carry). */
  readonly ahead: ChunkSink;

  /** Batches written by a writer thread so far. */
  backgroundBatches = 0;

  /**
   * Starts noting the hashes of the chunks put (a reference each, no copy): a batch that fails
   * can then drop what it stored, which no version names, instead of leaving it to fill the disk
   * until the next start's sweep.
   */
  track(): void {
    this.#tracked = [];
  }

  /** Stops noting; returns the hashes put since track(). */
  untrack(): string[] {
    const tracked = this.#tracked ?? [];
    this.#tracked = null;
    return tracked;
  }

  /** Queues a chunk (stored once, as ChunkStore.put). */
  put(hash: string, data: Buffer): void {
    this.#tracked?.push(hash);
    this.#chunks.push({ hash, data });
    this.#bytes += data.length;
    this.#maybeFlush();
  }

  /** Queues what was seen of a file. */
  scanned(rec: ScanRecord): void {
    this.#scans.set(rec.path, rec);
    this.#maybeFlush();
  }

  /** Queues forgetting a path's scan record. */
  forget(path: string): void {
    this.#scans.set(path, null);
    this.#maybeFlush();
  }

  /** A scan record queued and not yet written: the record, null when queued to be forgotten, else undefined. */
  queued(path: string): ScanRecord | null | undefined {
    const queued = this.#scans.get(path);
    if (queued !== undefined) return queued;
    for (let i = this.#inFlight.length - 1; i >= 0; i--) {
      const rec = this.#inFlight[i]!.scans.get(path);
      if (rec !== undefined) return rec;
    }
    return undefined;
  }

  /** The scan record of a path, queued or stored. */
  scanRecord(path: string): ScanRecord | undefined {
    const queued = this.queued(path);
    return queued === undefined ? this.#store.scanIndex.get(path) : (queued ?? undefined);
  }

  /** True when room() would wait or throw: callers skip an await per file otherwise. */
  get crowded(): boolean {
    return this.#failure !== undefined || this.#inFlightBytes() > IN_FLIGHT_BYTES;
  }

  /** Resolves when the writer thread has room for more; throws a failure of a background batch. */
  async room(): Promise<void> {
    while (this.#inFlightBytes() > IN_FLIGHT_BYTES) await this.#inFlight[0]!.done;
    this.#throwFailure();
  }

  /** Writes everything queued and waits until it is all committed; throws a failure of any batch. */
  async drain(): Promise<void> {
    if (this.#inFlight.length > 0) {
      try {
        this.#send();
      } catch (err) {
        // Refused for lack of room: the batches already with the thread are still waited for.
        this.#failure ??= err;
      }
      while (this.#inFlight.length > 0) await this.#inFlight[0]!.done;
      // The thread, its connection and its buffers are for a large change: none is held
      // between changes (starting one again costs less than reading 8 MiB).
      await this.#endThread();
    } else {
      this.flush();
    }
    this.#throwFailure();
  }

  /** Writes everything queued on this thread, in one transaction (nothing may be in flight). */
  flush(): void {
    this.#flushHere(false);
  }

  #flushHere(tell: boolean) {
    if (this.#inFlight.length > 0) throw new Error('flush() with batches in flight: drain() first');
    if (this.#chunks.length === 0 && this.#scans.size === 0) return;
    try {
      this.#checkRoom();
      this.#write();
    } catch (err) {
      // The batch fails, and its retry reads its files again. Kept queued, what the store
      // refused (a full disk) went in front of every later write: even a one-file edit, once
      // the admin had removed what did not fit, failed with it, for good.
      this.#reset();
      throw err;
    }
    const ahead = this.#ahead;
    this.#reset();
    if (tell) this.#tell(ahead);
  }

  #tell(ahead: ChunkRef[]) {
    if (ahead.length > 0) this.#onStoredAhead?.(ahead);
  }

  /** Writes everything queued and ends the writer thread (drain ends it too). */
  close(): Promise<void> {
    return this.drain();
  }

  async #endThread() {
    const writer = this.#writer;
    this.#writer = undefined;
    await writer?.close();
  }

  #maybeFlush() {
    const fullOfBytes = this.#bytes >= FLUSH_BYTES;
    if (!fullOfBytes && this.#chunks.length + this.#scans.size < FLUSH_WRITES) return;
    // Many small rows cost the thread hand-over (cloning them) about what writing them here
    // does: a tree of 100,000 small files took as long with the thread and about 10% more CPU. So
    // only byte-heavy batches go, and a batch behind one that went follows it, in order.
    if (this.#background && (fullOfBytes || this.#inFlight.length > 0)) this.#send(true);
    else this.#flushHere(true);
  }

  /**
   * Refuses (and drops) what is queued when the volume has no room for it with some to spare:
   * filled to the last byte, the store could not even delete what the failed change stored
   * (see writeRoomProblem). Batches still with the writer thread count too.
   */
  #checkRoom() {
    if (this.#bytes === 0) return;
    const problem = this.#roomProblem(this.#bytes + this.#inFlightBytes());
    if (problem === null) return;
    this.#reset();
    throw new NoRoomError(problem);
  }

  /** Hands what is queued to the writer thread; `tell`: its ahead chunks go to onStoredAhead once committed. */
  #send(tell = false) {
    if (this.#chunks.length === 0 && this.#scans.size === 0) return;
    this.#checkRoom();
    if (!this.#writer) {
      try {
        this.#writer = this.#startWriter(this.#store.path);
      } catch {
        // No thread to be had (none in flight either: one would be running): write here, now
        // and from then on.
        this.#background = false;
        this.#flushHere(tell);
        return;
      }
    }
    const writer = this.#writer;
    const scans = this.#scans;
    const ahead = tell ? this.#ahead : [];
    const entry: InFlight = {
      bytes: this.#bytes,
      scans,
      done: writer.write({ chunks: this.#chunks, scans }).then(
        () => {
          this.backgroundBatches++;
          this.#landed(entry);
          this.#tell(ahead);
        },
        (err) => {
          // Kept for the next room() or drain(): a batch nobody waits on must not reject unheard.
          this.#failure ??= err;
          // A thread that cannot run here (no threads left, say) must not fail every large
          // change to come: this change fails, and later ones are written on this thread.
          if (writer.broken) this.#background = false;
          this.#landed(entry);
        },
      ),
    };
    this.#inFlight.push(entry);
    this.#reset();
  }

  #landed(entry: InFlight) {
    this.#inFlight = this.#inFlight.filter((e) => e !== entry);
  }

  #reset() {
    this.#chunks = [];
    this.#ahead = [];
    this.#scans = new Map();
    this.#bytes = 0;
  }

  #inFlightBytes(): number {
    let n = 0;
    for (const e of this.#inFlight) n += e.bytes;
    return n;
  }

  #throwFailure() {
    if (this.#failure === undefined) return;
    const err = this.#failure;
    this.#failure = undefined;
    throw err;
  }
}
