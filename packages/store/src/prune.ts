import type { Store } from './store.js';
import { writeTransaction } from './write-transaction.js';

/** What a prune removed. */
export interface PruneStats {
  versions: number;
  entries: number;
  contents: number;
  chunks: number;
  encodings: number;
  /** Protected contents that would have gone: hand them back as `retry` next time. */
  deferred: string[];
}

export interface PruneOptions {
  /** The oldest version to keep; every older version, and whatever only it needed, goes. */
  keepFrom: number;
  /** Contents that must stay even if no kept version has them (bodies being streamed). */
  protect?: ReadonlySet<string>;
  /** Contents to look at again (the `deferred` of an earlier prune). */
  retry?: Iterable<string>;
  /** Rows deleted per transaction: small, so readers and writers never wait long. */
  batch?: number;
}

/**
 * Drops versions older than `keepFrom` and garbage-collects what only they referred to, in
 * small transactions. Work is in proportion to what is dropped: only the contents of dropped
 * entry rows, and only the chunks of dropped contents, are looked at. A generator: each step
 * is one transaction, so the caller can yield to other work between steps.
 */
export function* pruneSteps(store: Store, o: PruneOptions): Generator<void, PruneStats> {
  const db = store.db;
  const n = o.batch ?? 500;
  const stats: PruneStats = { versions: 0, entries: 0, contents: 0, chunks: 0, encodings: 0, deferred: [] };
  const q = {
    oldVersions: db.prepare(
      'DELETE FROM versions WHERE version IN (SELECT version FROM versions WHERE version < ? LIMIT ?)',
    ),
    deadEntries: db.prepare(
      'SELECT rowid, hash FROM entries WHERE removed_in IS NOT NULL AND removed_in <= ? LIMIT ?',
    ),
    deleteEntry: db.prepare('DELETE FROM entries WHERE rowid = ?'),
    contentUsed: db.prepare('SELECT 1 FROM entries WHERE hash = ? LIMIT 1').pluck(),
    chunksOf: db.prepare('SELECT chunk_hash FROM content_chunks WHERE content_hash = ?').pluck(),
    deleteContentChunks: db.prepare('DELETE FROM content_chunks WHERE content_hash = ?'),
    deleteEncodings: db.prepare('DELETE FROM encodings WHERE content_hash = ?'),
    deleteContent: db.prepare('DELETE FROM contents WHERE hash = ?'),
    chunkUsed: db.prepare('SELECT 1 FROM content_chunks WHERE chunk_hash = ? LIMIT 1').pluck(),
    deleteChunk: db.prepare('DELETE FROM chunks WHERE hash = ?'),
  };

  for (;;) {
    const v = writeTransaction(db, () => q.oldVersions.run(o.keepFrom, n).changes)();
    stats.versions += v;
    if (v === 0) break;
    yield;
  }

  // Entry rows not live in any kept version (live in [added_in, removed_in)); their contents
  // become candidates.
  const candidates = new Set<string>(o.retry ?? []);
  for (;;) {
    const rows = q.deadEntries.all(o.keepFrom, n) as { rowid: number; hash: string }[];
    if (rows.length === 0) break;
    writeTransaction(db, () => {
      for (const r of rows) stats.entries += q.deleteEntry.run(r.rowid).changes;
    })();
    for (const r of rows) candidates.add(r.hash);
    yield;
  }

  // Contents no entry names any more (unless protected); their chunks become candidates.
  const chunkCandidates = new Set<string>();
  const contents = [...candidates].filter((h) => !o.protect?.has(h));
  stats.deferred = [...candidates].filter((h) => o.protect?.has(h));
  for (let i = 0; i < contents.length; i += n) {
    writeTransaction(db, () => {
      for (const h of contents.slice(i, i + n)) {
        if (q.contentUsed.get(h) !== undefined) continue;
        for (const c of q.chunksOf.all(h) as string[]) chunkCandidates.add(c);
        q.deleteContentChunks.run(h);
        stats.encodings += q.deleteEncodings.run(h).changes;
        stats.contents += q.deleteContent.run(h).changes;
      }
    })();
    yield;
  }

  // Chunks no content is made of any more.
  const chunks = [...chunkCandidates];
  for (let i = 0; i < chunks.length; i += n) {
    writeTransaction(db, () => {
      for (const c of chunks.slice(i, i + n)) {
        if (q.chunkUsed.get(c) === undefined) stats.chunks += q.deleteChunk.run(c).changes;
      }
    })();
    yield;
  }
  return stats;
}

/** Runs every prune step at once (tools and tests). */
export function prune(store: Store, o: PruneOptions): PruneStats {
  const it = pruneSteps(store, o);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Collects contents and chunks nothing refers to, however they came to be (a process killed
 * between storing chunks and committing their version, or in the middle of a prune). Unlike
 * pruneSteps it walks the whole store, by rowid in small batches: run it rarely (at start),
 * and only where nothing is being stored at the same time.
 */
export function* sweepSteps(
  store: Store,
  // Looked up as each content is reached (a live set: what readers stream changes as it runs).
  o: { protect?: { has(hash: string): boolean }; batch?: number } = {},
) {
  const db = store.db;
  const n = o.batch ?? 500;
  const stats = { contents: 0, chunks: 0 };
  const contentPage = db.prepare('SELECT rowid, hash FROM contents WHERE rowid > ? ORDER BY rowid LIMIT ?');
  const contentUsed = db.prepare('SELECT 1 FROM entries WHERE hash = ? LIMIT 1').pluck();
  const chunkPage = db.prepare('SELECT rowid, hash FROM chunks WHERE rowid > ? ORDER BY rowid LIMIT ?');
  const chunkUsed = db.prepare('SELECT 1 FROM content_chunks WHERE chunk_hash = ? LIMIT 1').pluck();
  for (let after = 0; ; ) {
    const rows = contentPage.all(after, n) as { rowid: number; hash: string }[];
    if (rows.length === 0) break;
    after = rows.at(-1)!.rowid;
    writeTransaction(db, () => {
      for (const r of rows) {
        if (o.protect?.has(r.hash) || contentUsed.get(r.hash) !== undefined) continue;
        db.prepare('DELETE FROM content_chunks WHERE content_hash = ?').run(r.hash);
        db.prepare('DELETE FROM encodings WHERE content_hash = ?').run(r.hash);
        stats.contents += db.prepare('DELETE FROM contents WHERE hash = ?').run(r.hash).changes;
      }
    })();
    yield;
  }
  for (let after = 0; ; ) {
    const rows = chunkPage.all(after, n) as { rowid: number; hash: string }[];
    if (rows.length === 0) break;
    after = rows.at(-1)!.rowid;
    writeTransaction(db, () => {
      for (const r of rows) {
        if (chunkUsed.get(r.hash) === undefined)
          stats.chunks += db.prepare('DELETE FROM chunks WHERE hash = ?').run(r.hash).changes;
      }
    })();
    yield;
  }
  return stats;
}

/**
 * Deletes those of the given chunks that no content names (chunks stored ahead of a version
 * that did not use them), in transactions of `batch`; work in proportion to the list, not the
 * store. A generator, as pruneSteps: one transaction a step. Returns how many went.
 */
export function* dropUnusedChunkSteps(
  store: Store,
  hashes: readonly string[],
  batch = 500,
): Generator<void, number> {
  const db = store.db;
  const used = db.prepare('SELECT 1 FROM content_chunks WHERE chunk_hash = ? LIMIT 1').pluck();
  const drop = db.prepare('DELETE FROM chunks WHERE hash = ?');
  let dropped = 0;
  for (let i = 0; i < hashes.length; i += batch) {
    const slice = hashes.slice(i, i + batch);
    dropped += writeTransaction(db, () => {
      let n = 0;
      for (const h of slice) if (used.get(h) === undefined) n += drop.run(h).changes;
      return n;
    })();
    if (i + batch < hashes.length) yield;
  }
  return dropped;
}
