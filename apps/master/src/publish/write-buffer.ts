import type { ScanRecord, Store } from '@outpost/store';

/** Most bytes of chunks held before they are written. */
const FLUSH_BYTES = 8 * 1024 * 1024;
/** Most writes held before they are written. */
const FLUSH_WRITES = 2048;

/**
 * Gathers the publisher's writes (chunks and scan records) and puts them in the store in one
 * transaction per few megabytes: a commit per file would cost more than reading the file.
 * Everything is flushed before a version is committed, so a version never names a chunk that
 * is not stored; what a crash loses before that was never published.
 */
export class WriteBuffer {
  readonly #store: Store;
  #chunks: { hash: string; data: Buffer }[] = [];
  #scans = new Map<string, ScanRecord | null>();
  #bytes = 0;
  readonly #write: () => void;

  constructor(store: Store) {
    this.#store = store;
    this.#write = store.db.transaction(() => {
      this.#store.chunks.putMany(this.#chunks);
      for (const [path, rec] of this.#scans) {
        if (rec) this.#store.scanIndex.put(rec);
        else this.#store.scanIndex.delete(path);
      }
    });
  }

  /** Queues a chunk (stored once, as ChunkStore.put). */
  put(hash: string, data: Buffer): void {
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
    return this.#scans.get(path);
  }

  /** The scan record of a path, queued or stored. */
  scanRecord(path: string): ScanRecord | undefined {
    const queued = this.queued(path);
    return queued === undefined ? this.#store.scanIndex.get(path) : (queued ?? undefined);
  }

  /** Writes everything queued, in one transaction. */
  flush(): void {
    if (this.#chunks.length === 0 && this.#scans.size === 0) return;
    this.#write();
    this.#chunks = [];
    this.#scans = new Map();
    this.#bytes = 0;
  }

  #maybeFlush() {
    if (this.#bytes >= FLUSH_BYTES || this.#chunks.length + this.#scans.size >= FLUSH_WRITES) this.flush();
  }
}
