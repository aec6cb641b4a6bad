import { isClean, openStore, verifyStore } from '@outpost/store';
import BetterSqlite3 from 'better-sqlite3';

/** What a killed process's store held at the moment of the kill, read without changing it. */
export interface StoreSnapshot {
  current: number;
  versions: number;
  /** Entry rows of no kept version: collection after a switch has not finished. */
  deadEntries: number;
  /** Every chunk stored (committed or not: chunks are stored as they arrive). */
  chunks: Set<string>;
  /** Every content committed with a version. */
  contents: Set<string>;
}

/**
 * Reads a stopped process's store read-only (the WAL is left for the restart to recover): its
 * current version, how many versions it holds, which chunks and contents it has. Set beside
 * the chunk lists of the contents being published, this places the kill in a phase.
 */
export function snapshotStore(file: string): StoreSnapshot | null {
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch {
    return null;
  }
  try {
    const current = db.prepare("SELECT value FROM meta WHERE key = 'current_version'").pluck().get() as
      | string
      | undefined;
    const versions = db.prepare('SELECT count(*) FROM versions').pluck().get() as number;
    const oldest = (db.prepare('SELECT min(version) FROM versions').pluck().get() as number | null) ?? 0;
    const deadEntries = db
      .prepare('SELECT count(*) FROM entries WHERE removed_in IS NOT NULL AND removed_in <= ?')
      .pluck()
      .get(oldest) as number;
    const chunks = new Set(db.prepare('SELECT hash FROM chunks').pluck().all() as string[]);
    const contents = new Set(db.prepare('SELECT hash FROM contents').pluck().all() as string[]);
    return { current: current === undefined ? 0 : Number(current), versions, deadEntries, chunks, contents };
  } catch {
    // A store not yet created (killed before its first migration) has no tables.
    return null;
  } finally {
    db.close();
  }
}

/** The chunk addresses of contents, as the (running or stopped) master's store records them. */
export function chunkLists(file: string, hashes: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch {
    return out;
  }
  try {
    const q = db.prepare('SELECT chunk_hash FROM content_chunks WHERE content_hash = ? ORDER BY seq').pluck();
    for (const h of hashes) {
      const list = q.all(h) as string[];
      if (list.length > 0) out.set(h, list);
    }
  } catch {
    // Busy or mid-migration: asked again later.
  } finally {
    db.close();
  }
  return out;
}

/** The store's own full check, in this process, on a copy of a killed process's files. */
export function verifyCopy(file: string): { clean: boolean; report: unknown } {
  const store = openStore(file);
  try {
    const report = verifyStore(store);
    return { clean: isClean(report), report };
  } finally {
    store.close();
  }
}

/** Rows nothing refers to any more: contents no entry names, chunks no content uses. */
export function orphans(file: string): { contents: number; chunks: number; chunkBytes: number } | null {
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch {
    return null;
  }
  try {
    const contents = db
      .prepare(
        'SELECT count(*) FROM contents c WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.hash = c.hash)',
      )
      .pluck()
      .get() as number;
    const row = db
      .prepare(
        `SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM chunks k
         WHERE NOT EXISTS (SELECT 1 FROM content_chunks cc WHERE cc.chunk_hash = k.hash)`,
      )
      .get() as { n: number; bytes: number };
    return { contents, chunks: row.n, chunkBytes: row.bytes };
  } finally {
    db.close();
  }
}

/**
 * A read-only look into a running process's store (WAL readers never block its writers), to
 * aim a kill at a narrow moment: all chunks of a version stored but not yet committed, just
 * committed, or the master storing a change's chunks.
 */
export class LiveProbe {
  readonly #db: BetterSqlite3.Database | null;

  constructor(file: string) {
    let db: BetterSqlite3.Database | null = null;
    try {
      db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    } catch {
      db = null;
    }
    this.#db = db;
  }

  #try<T>(f: (db: BetterSqlite3.Database) => T, fallback: T): T {
    if (!this.#db) return fallback;
    try {
      return f(this.#db);
    } catch {
      return fallback;
    }
  }

  /** The newest chunk's rowid: it grows with every chunk stored (collection deletes old ones). */
  lastChunk(): number {
    return this.#try(
      (db) => (db.prepare('SELECT max(rowid) FROM chunks').pluck().get() as number | null) ?? 0,
      -1,
    );
  }

  /** Bytes of the chunks stored after the one with this rowid. */
  storedSince(rowid: number): number {
    return this.#try(
      (db) =>
        db.prepare('SELECT coalesce(sum(size), 0) FROM chunks WHERE rowid > ?').pluck().get(rowid) as number,
      0,
    );
  }

  /** True when every one of these contents is committed. */
  committed(hashes: readonly string[]): boolean {
    return this.#try((db) => {
      const q = db.prepare('SELECT 1 FROM contents WHERE hash = ?').pluck();
      return hashes.every((h) => q.get(h) !== undefined);
    }, false);
  }

  /** The chunk lists of these contents, when every one is committed here. */
  chunkLists(hashes: readonly string[]): string[][] | null {
    return this.#try((db) => {
      const q = db
        .prepare('SELECT chunk_hash FROM content_chunks WHERE content_hash = ? ORDER BY seq')
        .pluck();
      const lists = hashes.map((h) => q.all(h) as string[]);
      return lists.every((l) => l.length > 0) ? lists : null;
    }, null);
  }

  /** How many of these chunks are stored. */
  present(chunks: readonly string[]): number {
    return this.#try(
      (db) =>
        db
          .prepare('SELECT count(*) FROM chunks WHERE hash IN (SELECT value FROM json_each(?))')
          .pluck()
          .get(JSON.stringify(chunks)) as number,
      0,
    );
  }

  close(): void {
    this.#db?.close();
  }
}
