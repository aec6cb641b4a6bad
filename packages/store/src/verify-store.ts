import { applyChanges, createSha256, merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import type { Store } from './store.js';

/** What a full check of a store found. */
export interface VerifyReport {
  chunks: number;
  chunkBytes: number;
  /** Chunks whose bytes do not hash to their address (or have the wrong length). */
  badChunks: string[];
  contents: number;
  /** File contents that cannot be rebuilt, or rebuild to another hash. */
  badContents: { hash: string; problem: string }[];
  versions: number;
  /** Versions whose entries do not give their recorded root. */
  badVersions: { version: number; problem: string }[];
  /** Compressed copies (br, gzip) kept of contents. */
  encodings: number;
  /** Copies whose bytes do not match the length and hash recorded with them. */
  badEncodings: { hash: string; coding: string; problem: string }[];
  /** The current version, and whether it is held. */
  current: number;
  currentProblem: string | null;
  /**
   * What SQLite's own check of its pages and indexes found (`PRAGMA quick_check`), up to 20
   * lines: damage the hashes cannot see (a page two tables claim, an index out of step).
   */
  sqliteProblems: string[];
}

/** True when the report found nothing wrong. */
export function isClean(r: VerifyReport): boolean {
  return (
    r.badChunks.length === 0 &&
    r.badContents.length === 0 &&
    r.badVersions.length === 0 &&
    r.badEncodings.length === 0 &&
    r.currentProblem === null &&
    r.sqliteProblems.length === 0
  );
}

/**
 * Re-hashes every chunk, rebuilds every content from its chunks, and recomputes the root of
 * every version held. Reads the store in pieces; safe beside a running service (WAL readers).
 */
export function verifyStore(store: Store, onProgress?: (done: number, what: string) => void): VerifyReport {
  const db = store.db;
  const report: VerifyReport = {
    chunks: 0,
    chunkBytes: 0,
    badChunks: [],
    contents: 0,
    badContents: [],
    versions: 0,
    badVersions: [],
    encodings: 0,
    badEncodings: [],
    current: 0,
    currentProblem: null,
    sqliteProblems: (db.pragma('quick_check(20)') as { quick_check: string }[])
      .map((row) => row.quick_check)
      .filter((line) => line !== 'ok'),
  };
  const bad = new Set<string>();
  for (const row of db.prepare('SELECT hash, size, data FROM chunks').iterate() as Iterable<{
    hash: string;
    size: number;
    data: Buffer;
  }>) {
    report.chunks++;
    report.chunkBytes += row.data.length;
    if (row.data.length !== row.size || sha256Hex(row.data) !== row.hash) {
      report.badChunks.push(row.hash);
      bad.add(row.hash);
    }
    if (report.chunks % 1000 === 0) onProgress?.(report.chunks, 'chunks');
  }

  const getChunk = db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck();
  const chunksOf = db.prepare(
    'SELECT chunk_hash, size FROM content_chunks WHERE content_hash = ? ORDER BY seq',
  );
  for (const c of db.prepare('SELECT hash, size FROM contents').iterate() as Iterable<{
    hash: string;
    size: number;
  }>) {
    report.contents++;
    const hash = createSha256();
    let size = 0;
    let problem: string | null = null;
    for (const part of chunksOf.all(c.hash) as { chunk_hash: string; size: number }[]) {
      const data = getChunk.get(part.chunk_hash) as Buffer | undefined;
      if (!data) {
        problem = `chunk ${part.chunk_hash} is missing`;
        break;
      }
      if (bad.has(part.chunk_hash)) {
        problem = `chunk ${part.chunk_hash} is damaged`;
        break;
      }
      hash.update(data);
      size += data.length;
    }
    if (!problem && size !== c.size) problem = `chunks add up to ${size} bytes, not ${c.size}`;
    if (!problem && hash.digest('hex') !== c.hash) problem = 'chunks do not hash to the content hash';
    if (problem) report.badContents.push({ hash: c.hash, problem });
  }

  // The replica's br/gzip copies: a damaged one is never served (it is checked as it is read,
  // and computed again), but the store holds damage all the same, which verify must say.
  for (const e of db
    .prepare('SELECT content_hash AS hash, coding, size, sha256, data FROM encodings WHERE data IS NOT NULL')
    .iterate() as Iterable<{ hash: string; coding: string; size: number; sha256: string; data: Buffer }>) {
    report.encodings++;
    const problem =
      e.data.length !== e.size
        ? `${e.data.length} bytes, recorded ${e.size}`
        : sha256Hex(e.data) !== e.sha256
          ? 'its bytes do not hash to the hash recorded with them'
          : null;
    if (problem) report.badEncodings.push({ hash: e.hash, coding: e.coding, problem });
  }

  // Versions in order, each tree built from the one before: every root is recomputed.
  let tree: Map<string, TreeEntry> = new Map();
  let prev = 0;
  for (const v of [...store.versions.list()].reverse()) {
    report.versions++;
    const known = store.versions.get(prev) !== undefined;
    tree = known
      ? applyChanges(tree, store.versions.changesBetween(prev, v.version))
      : (store.versions.treeAt(v.version) ?? new Map());
    const root = merkleRoot(tree.values());
    if (root !== v.root)
      report.badVersions.push({ version: v.version, problem: `entries give root ${root}` });
    if (tree.size !== v.files)
      report.badVersions.push({ version: v.version, problem: `${tree.size} files, recorded ${v.files}` });
    prev = v.version;
    onProgress?.(report.versions, 'versions');
  }
  const cur = store.versions.current();
  report.current = cur.version;
  if (cur.version > 0) {
    const held = store.versions.get(cur.version);
    if (!held) report.currentProblem = `current version ${cur.version} is not held`;
    else if (held.root !== cur.root)
      report.currentProblem = `current root ${cur.root} is not version ${cur.version}'s`;
  }
  return report;
}
