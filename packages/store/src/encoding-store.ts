import { sha256Hex } from '@outpost/core';
import type { Database, Statement } from 'better-sqlite3';

/** A stored coding of a content: its bytes, or null when it did not pay. */
export interface StoredEncoding {
  data: Buffer | null;
  /** SHA-256 of data, so a damaged copy is caught before it is served. */
  sha256: string | null;
}

/** Precomputed compressed copies of contents, keyed by content hash and coding. */
export class EncodingStore {
  readonly #get: Statement<[string, string]>;
  readonly #put: Statement<[string, string, number | null, string | null, Buffer | null]>;
  readonly #delete: Statement<[string, string]>;

  constructor(db: Database) {
    this.#get = db.prepare('SELECT data, sha256 FROM encodings WHERE content_hash = ? AND coding = ?');
    this.#put = db.prepare(
      'INSERT OR REPLACE INTO encodings (content_hash, coding, size, sha256, data) VALUES (?, ?, ?, ?, ?)',
    );
    this.#delete = db.prepare('DELETE FROM encodings WHERE content_hash = ? AND coding = ?');
  }

  /** The stored coding, or undefined when it has not been computed. */
  get(contentHash: string, coding: string): StoredEncoding | undefined {
    return this.#get.get(contentHash, coding) as StoredEncoding | undefined;
  }

  /** Records a coding; null data means "not worth it". */
  put(contentHash: string, coding: string, data: Buffer | null): void {
    this.#put.run(contentHash, coding, data?.length ?? null, data ? sha256Hex(data) : null, data);
  }

  /** Forgets a coding (a damaged one, to be computed again). */
  delete(contentHash: string, coding: string): void {
    this.#delete.run(contentHash, coding);
  }
}
