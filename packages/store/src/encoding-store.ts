import type { Database, Statement } from 'better-sqlite3';

/** A stored coding of a content: its bytes, or null when it did not pay. */
export interface StoredEncoding {
  data: Buffer | null;
}

/** Precomputed compressed copies of contents, keyed by content hash and coding. */
export class EncodingStore {
  readonly #get: Statement<[string, string]>;
  readonly #put: Statement<[string, string, number | null, Buffer | null]>;

  constructor(db: Database) {
    this.#get = db.prepare('SELECT data FROM encodings WHERE content_hash = ? AND coding = ?');
    this.#put = db.prepare(
      'INSERT OR REPLACE INTO encodings (content_hash, coding, size, data) VALUES (?, ?, ?, ?)',
    );
  }

  /** The stored coding, or undefined when it has not been computed. */
  get(contentHash: string, coding: string): StoredEncoding | undefined {
    return this.#get.get(contentHash, coding) as StoredEncoding | undefined;
  }

  /** Records a coding; null data means "not worth it". */
  put(contentHash: string, coding: string, data: Buffer | null): void {
    this.#put.run(contentHash, coding, data?.length ?? null, data);
  }
}
