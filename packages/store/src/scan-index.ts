import type { Database, Statement } from 'better-sqlite3';

/** What the master last saw of a file on disk. */
export interface ScanRecord {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  hash: string;
  scannedAt: number;
}

/** Records what was seen of a path (named parameters: the fields of a ScanRecord); shared with the background writer. */
export const PUT_SCAN_SQL = `INSERT INTO scan_index (path, size, mtime_ms, ino, hash, scanned_at)
  VALUES (@path, @size, @mtimeMs, @ino, @hash, @scannedAt)
  ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
    ino = excluded.ino, hash = excluded.hash, scanned_at = excluded.scanned_at`;

/** Forgets a path (parameter: the path); shared with the background writer. */
export const DELETE_SCAN_SQL = 'DELETE FROM scan_index WHERE path = ?';

/** The master's persistent record of files it has hashed, so that unchanged files are not hashed again. */
export class ScanIndex {
  readonly #get: Statement<[string]>;
  readonly #put: Statement<[ScanRecord]>;
  readonly #delete: Statement<[string]>;
  readonly #all: Statement<[]>;

  constructor(db: Database) {
    this.#get = db.prepare(
      'SELECT path, size, mtime_ms AS mtimeMs, ino, hash, scanned_at AS scannedAt FROM scan_index WHERE path = ?',
    );
    this.#put = db.prepare(PUT_SCAN_SQL);
    this.#delete = db.prepare(DELETE_SCAN_SQL);
    this.#all = db.prepare(
      'SELECT path, size, mtime_ms AS mtimeMs, ino, hash, scanned_at AS scannedAt FROM scan_index',
    );
  }

  /** The record for a path, or undefined. */
  get(path: string): ScanRecord | undefined {
    return this.#get.get(path) as ScanRecord | undefined;
  }

  /** Every record, by path: one query for a pass over the whole tree. */
  all(): Map<string, ScanRecord> {
    const out = new Map<string, ScanRecord>();
    for (const r of this.#all.iterate() as IterableIterator<ScanRecord>) out.set(r.path, r);
    return out;
  }

  /** Records what was seen. */
  put(r: ScanRecord): void {
    this.#put.run(r);
  }

  /** Forgets a path. */
  delete(path: string): void {
    this.#delete.run(path);
  }
}
