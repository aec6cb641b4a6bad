import { type Change, type ChunkRef, EMPTY_ROOT, type TreeEntry, treeEntry } from '@outpost/core';
import type { Database, Statement } from 'better-sqlite3';
import { writeTransaction } from './write-transaction.js';

/** A version as the store keeps it. */
export interface StoredVersion {
  version: number;
  root: string;
  createdAt: number;
  files: number;
  bytes: number;
}

/** A chunk of a file's content with its place in the file. */
export interface PlacedChunk extends ChunkRef {
  offset: number;
}

/** What commit() needs: the version, its root and totals, and the changes from the current one. */
export interface CommitInput {
  version: number;
  root: string;
  createdAt: number;
  files: number;
  bytes: number;
  changes: readonly Change[];
}

/** Thrown when a commit would not leave a complete, forward-moving version. */
export class CommitRefusedError extends Error {
  override name = 'CommitRefusedError';
}

/** path, size, hash, mtime, then one chunk of the content (null for an empty file) and its size. */
type LiveRow = [string, number, string, number, string | null, number | null];

interface EntryRow {
  path: string;
  size: number;
  hash: string;
  mtime: number;
}

/** Versions, their entries and which one is current. Every change is one transaction. */
export class VersionStore {
  readonly #db: Database;
  readonly #stmts: ReturnType<typeof prepare>;

  constructor(db: Database) {
    this.#db = db;
    this.#stmts = prepare(db);
  }

  /** The current version and root; version 0 with the empty root before the first commit. */
  current(): { version: number; root: string } {
    const version = this.#stmts.getMeta.get('current_version') as string | undefined;
    const root = this.#stmts.getMeta.get('current_root') as string | undefined;
    return { version: version === undefined ? 0 : Number(version), root: root ?? EMPTY_ROOT };
  }

  /** Records a new version and makes it current, all or nothing. */
  commit(input: CommitInput): void {
    writeTransaction(this.#db, () => {
      const cur = this.current();
      if (input.version <= cur.version) {
        throw new CommitRefusedError(`version ${input.version} is not newer than ${cur.version}`);
      }
      const s = this.#stmts;
      // New contents first, in hash order: their tables and indexes are keyed by hashes, which
      // manifest (path) order visits at random; a first sync of 100,000 files took twice as long.
      const puts: TreeEntry[] = [];
      for (const change of input.changes) if (change.op === 'put') puts.push(change.entry);
      puts.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      for (const entry of puts) this.#ensureContent(entry);
      for (const change of input.changes) {
        if (change.op === 'delete') {
          s.retire.run(input.version, change.path);
          continue;
        }
        const entry = change.entry;
        s.retire.run(input.version, entry.path);
        s.insertEntry.run(entry.path, input.version, entry.size, entry.hash, entry.mtime);
      }
      s.insertVersion.run(input.version, input.root, input.createdAt, input.files, input.bytes);
      s.setMeta.run('current_version', String(input.version));
      s.setMeta.run('current_root', input.root);
    })();
  }

  #ensureContent(entry: TreeEntry): void {
    const s = this.#stmts;
    const knownSize = s.contentSize.get(entry.hash) as number | undefined;
    if (knownSize !== undefined) {
      // Known content: its chunks were checked when it was first stored, but the size must agree.
      if (knownSize !== entry.size) {
        throw new CommitRefusedError(`${entry.path} says ${entry.size} bytes, its content has ${knownSize}`);
      }
      return;
    }
    let offset = 0;
    entry.chunks.forEach((chunk, seq) => {
      const size = s.chunkSize.get(chunk.hash) as number | undefined;
      if (size === undefined)
        throw new CommitRefusedError(`chunk ${chunk.hash} of ${entry.path} is not stored`);
      if (size !== chunk.size)
        throw new CommitRefusedError(`chunk ${chunk.hash} of ${entry.path} has the wrong size`);
      s.insertContentChunk.run(entry.hash, seq, offset, chunk.hash, chunk.size);
      offset += chunk.size;
    });
    if (offset !== entry.size) {
      throw new CommitRefusedError(`chunks of ${entry.path} add up to ${offset} bytes, not ${entry.size}`);
    }
    s.insertContent.run(entry.hash, entry.size, entry.chunks.length);
  }

  /** The current version's tree with chunk lists. */
  liveTree(): Map<string, TreeEntry> {
    // One query for entries and their chunk lists: a query per entry cost 1.2 s at 100,000 files.
    const tree = new Map<string, TreeEntry>();
    // A content of several chunks shared by several paths shares one list, filled once.
    const lists = new Map<string, ChunkRef[]>();
    let head: LiveRow | undefined;
    let chunks: ChunkRef[] = [];
    let fresh = false;
    const flush = () => {
      if (!head) return;
      const [path, size, hash, mtime] = head;
      tree.set(path, treeEntry(path, size, hash, mtime, chunks));
      if (fresh && chunks.length > 1) lists.set(hash, chunks);
    };
    for (const row of this.#stmts.liveWithChunks.iterate() as IterableIterator<LiveRow>) {
      const [path, , hash, , chunk, chunkSize] = row;
      if (head?.[0] !== path) {
        flush();
        head = row;
        const known = lists.get(hash);
        fresh = known === undefined;
        chunks = known ?? [];
      }
      if (fresh && chunk !== null) chunks.push({ hash: chunk === hash ? hash : chunk, size: chunkSize! });
    }
    flush();
    return tree;
  }

  /** The tree of a version this store holds, or undefined. */
  treeAt(version: number): Map<string, TreeEntry> | undefined {
    if (!this.get(version)) return undefined;
    return this.#withChunks(this.#stmts.at.all({ v: version }) as EntryRow[]);
  }

  /** The changes that turn held version `from` into held version `to` (from < to). */
  changesBetween(from: number, to: number): Change[] {
    if (from >= to) return [];
    const puts = this.#withChunks(this.#stmts.putsBetween.all({ from, to }) as EntryRow[]);
    const deletes = this.#stmts.deletesBetween.all({ from, to }) as string[];
    const changes: Change[] = deletes.map((path) => ({ op: 'delete', path }));
    for (const entry of puts.values()) changes.push({ op: 'put', entry });
    return changes;
  }

  /**
   * The oldest version a retention policy keeps: the newest `keep` versions, plus any created
   * at or after `since` (ms since the epoch) when given. 0 when nothing is held.
   */
  retentionFloor(keep: number, since?: number): number {
    const nth = this.#db
      .prepare('SELECT version FROM versions ORDER BY version DESC LIMIT 1 OFFSET ?')
      .pluck()
      .get(Math.max(0, keep - 1)) as number | undefined;
    let floor =
      nth ?? (this.#db.prepare('SELECT MIN(version) FROM versions').pluck().get() as number | null) ?? 0;
    if (since !== undefined) {
      const recent = this.#db
        .prepare('SELECT MIN(version) FROM versions WHERE created_at >= ?')
        .pluck()
        .get(since) as number | null;
      if (recent !== null) floor = Math.min(floor, recent);
    }
    return floor;
  }

  /** Every version held, newest first. */
  list(): StoredVersion[] {
    return this.#stmts.list.all() as StoredVersion[];
  }

  /** One version's record, or undefined. */
  get(version: number): StoredVersion | undefined {
    return this.#stmts.getVersion.get(version) as StoredVersion | undefined;
  }

  /**
   * When version `version` was cut, or, collected, when the first version kept after it was
   * (it was cut before that): undefined only when no kept version is as new.
   */
  cutAtOrAfter(version: number): number | undefined {
    return this.#stmts.cutAtOrAfter.get(version) as number | undefined;
  }

  /** The entry at `path` in held version `version` (without chunks), or undefined. */
  entryAt(path: string, version: number): Omit<TreeEntry, 'chunks'> | undefined {
    return this.#stmts.entryAt.get({ path, v: version }) as Omit<TreeEntry, 'chunks'> | undefined;
  }

  /** The newest entry this store holds for `path`, live or removed since (without chunks), or undefined. */
  latestEntry(path: string): Omit<TreeEntry, 'chunks'> | undefined {
    return this.#stmts.latestEntry.get(path) as Omit<TreeEntry, 'chunks'> | undefined;
  }

  /** True when some path holds this content in held version `version`. */
  contentIn(hash: string, version: number): boolean {
    return this.#stmts.contentIn.get({ hash, v: version }) !== undefined;
  }

  /** A content's chunks in order, with offsets, or undefined when the content is unknown. */
  contentChunks(hash: string): PlacedChunk[] | undefined {
    if (this.#stmts.hasContent.get(hash) === undefined) return undefined;
    return this.#stmts.contentChunks.all(hash) as PlacedChunk[];
  }

  /** Where a chunk lies in the files of the current tree: each path and the chunk's offset there (at most `limit`). */
  livePlacesOf(chunkHash: string, limit = 8): { path: string; offset: number; size: number }[] {
    return this.#stmts.livePlacesOf.all(chunkHash, limit) as { path: string; offset: number; size: number }[];
  }

  #withChunks(rows: EntryRow[]): Map<string, TreeEntry> {
    const tree = new Map<string, TreeEntry>();
    const chunkCache = new Map<string, ChunkRef[]>();
    for (const row of rows) {
      let chunks = chunkCache.get(row.hash);
      if (!chunks) {
        chunks = (this.#stmts.contentChunks.all(row.hash) as PlacedChunk[]).map(({ hash, size }) => ({
          // A one-chunk file's chunk is the file: one string, not two (100,000 files, 8 MB).
          hash: hash === row.hash ? row.hash : hash,
          size,
        }));
        chunkCache.set(row.hash, chunks);
      }
      tree.set(row.path, { path: row.path, size: row.size, hash: row.hash, mtime: row.mtime, chunks });
    }
    return tree;
  }
}

function prepare(db: Database) {
  const entryCols = 'path, size, hash, mtime';
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck() as Statement<[string]>,
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ) as Statement<[string, string]>,
    retire: db.prepare(
      'UPDATE entries SET removed_in = ? WHERE path = ? AND removed_in IS NULL',
    ) as Statement<[number, string]>,
    insertEntry: db.prepare(
      'INSERT INTO entries (path, added_in, size, hash, mtime) VALUES (?, ?, ?, ?, ?)',
    ) as Statement<[string, number, number, string, number]>,
    insertVersion: db.prepare(
      'INSERT INTO versions (version, root, created_at, files, bytes) VALUES (?, ?, ?, ?, ?)',
    ) as Statement<[number, string, number, number, number]>,
    hasContent: db.prepare('SELECT 1 FROM contents WHERE hash = ?').pluck() as Statement<[string]>,
    contentSize: db.prepare('SELECT size FROM contents WHERE hash = ?').pluck() as Statement<[string]>,
    chunkSize: db.prepare('SELECT size FROM chunks WHERE hash = ?').pluck() as Statement<[string]>,
    insertContent: db.prepare('INSERT INTO contents (hash, size, chunk_count) VALUES (?, ?, ?)') as Statement<
      [string, number, number]
    >,
    insertContentChunk: db.prepare(
      'INSERT INTO content_chunks (content_hash, seq, "offset", chunk_hash, size) VALUES (?, ?, ?, ?, ?)',
    ) as Statement<[string, number, number, string, number]>,
    contentChunks: db.prepare(
      'SELECT chunk_hash AS hash, size, "offset" FROM content_chunks WHERE content_hash = ? ORDER BY seq',
    ) as Statement<[string]>,
    liveWithChunks: db
      .prepare(
        `SELECT e.path, e.size, e.hash, e.mtime, cc.chunk_hash, cc.size
         FROM entries e LEFT JOIN content_chunks cc ON cc.content_hash = e.hash
         WHERE e.removed_in IS NULL ORDER BY e.path, cc.seq`,
      )
      .raw(),
    livePlacesOf: db.prepare(
      `SELECT e.path, cc."offset" AS offset, cc.size FROM content_chunks cc
       JOIN entries e ON e.hash = cc.content_hash AND e.removed_in IS NULL
       WHERE cc.chunk_hash = ? LIMIT ?`,
    ) as Statement<[string, number]>,
    contentIn: db
      .prepare(
        `SELECT 1 FROM entries
         WHERE hash = @hash AND added_in <= @v AND (removed_in IS NULL OR removed_in > @v) LIMIT 1`,
      )
      .pluck(),
    latestEntry: db.prepare(`SELECT ${entryCols} FROM entries WHERE path = ? ORDER BY added_in DESC LIMIT 1`),
    entryAt: db.prepare(
      `SELECT ${entryCols} FROM entries
       WHERE path = @path AND added_in <= @v AND (removed_in IS NULL OR removed_in > @v)`,
    ),
    at: db.prepare(
      `SELECT ${entryCols} FROM entries WHERE added_in <= @v AND (removed_in IS NULL OR removed_in > @v)`,
    ),
    putsBetween: db.prepare(
      `SELECT ${entryCols} FROM entries
       WHERE added_in > @from AND added_in <= @to AND (removed_in IS NULL OR removed_in > @to)`,
    ),
    deletesBetween: db
      .prepare(
        `SELECT DISTINCT e.path FROM entries e
         WHERE e.removed_in > @from AND e.removed_in <= @to AND e.added_in <= @from
           AND NOT EXISTS (SELECT 1 FROM entries l WHERE l.path = e.path
                           AND l.added_in <= @to AND (l.removed_in IS NULL OR l.removed_in > @to))`,
      )
      .pluck(),
    list: db.prepare(
      'SELECT version, root, created_at AS createdAt, files, bytes FROM versions ORDER BY version DESC',
    ),
    getVersion: db.prepare(
      'SELECT version, root, created_at AS createdAt, files, bytes FROM versions WHERE version = ?',
    ) as Statement<[number]>,
    cutAtOrAfter: db
      .prepare('SELECT created_at FROM versions WHERE version >= ? ORDER BY version LIMIT 1')
      .pluck() as Statement<[number]>,
  };
}
