import { existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chunkBuffer,
  comparePaths,
  diffTrees,
  EMPTY_ROOT,
  merkleRoot,
  sha256Hex,
  type TreeEntry,
} from '@outpost/core';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listMigrations } from './migrate.js';
import { openStore, type Store } from './store.js';

let dir: string;
let opened: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-store-'));
});

afterEach(() => {
  for (const store of opened) if (store.db.open) store.close();
  opened = [];
  rmSync(dir, { recursive: true, force: true });
});

function open(file = join(dir, 'store.db')): Store {
  const store = openStore(file);
  opened.push(store);
  return store;
}

function stored(store: Store, path: string, content: string, mtime = 1_000): TreeEntry {
  const data = Buffer.from(content);
  const chunks = chunkBuffer(data, 4);
  for (const c of chunks) store.chunks.put(sha256Hex(c), c);
  return {
    path,
    size: data.length,
    hash: sha256Hex(data),
    mtime,
    chunks: chunks.map((c) => ({ hash: sha256Hex(c), size: c.length })),
  };
}

function commit(store: Store, version: number, entries: TreeEntry[]): string {
  const target = new Map(entries.map((e) => [e.path, e]));
  const root = merkleRoot(target.values());
  store.versions.commit({
    version,
    root,
    createdAt: version * 1000,
    files: target.size,
    bytes: entries.reduce((n, e) => n + e.size, 0),
    changes: diffTrees(store.versions.liveTree(), target).changes,
  });
  return root;
}

const sorted = (t: Map<string, TreeEntry> | undefined) =>
  [...(t ?? new Map<string, TreeEntry>()).values()].sort((a, b) => comparePaths(a.path, b.path));

const schemaOf = (store: Store) =>
  store.db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    .all();

describe('openStore', () => {
  it('creates the file and its missing parent directories', () => {
    const file = join(dir, 'deep', 'er', 'store.db');
    const store = open(file);
    expect(store.path).toBe(file);
    expect(existsSync(file)).toBe(true);
    expect(store.versions.current()).toEqual({ version: 0, root: EMPTY_ROOT });
  });

  it('opens in WAL mode with the latest schema', () => {
    const store = open();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(store.db.pragma('user_version', { simple: true })).toBe(listMigrations().at(-1)!.number);
    const tables = schemaOf(store)
      .filter((r) => (r as { type: string }).type === 'table')
      .map((r) => (r as { name: string }).name);
    expect(tables).toEqual([
      'chunks',
      'content_chunks',
      'contents',
      'encodings',
      'entries',
      'meta',
      'replicas',
      'scan_index',
      'versions',
    ]);
  });

  it('keeps the current version, root, entries and chunks across close and reopen', () => {
    const first = open();
    const a = stored(first, 'a.txt', 'hello world');
    const b = stored(first, 'dir/b.txt', 'bee');
    commit(first, 1, [a, b]);
    const a2 = stored(first, 'a.txt', 'hello again', 2_000);
    const c = stored(first, 'c', '');
    const root2 = commit(first, 2, [a2, c]);
    first.close();
    expect(first.db.open).toBe(false);

    const again = open();
    expect(again.versions.current()).toEqual({ version: 2, root: root2 });
    expect(sorted(again.versions.liveTree())).toEqual([a2, c]);
    expect(sorted(again.versions.treeAt(1))).toEqual([a, b]);
    expect(again.versions.list().map((v) => [v.version, v.root, v.files, v.bytes])).toEqual([
      [2, root2, 2, 11],
      [1, merkleRoot([a, b]), 2, 14],
    ]);
    expect(again.chunks.get(sha256Hex('hell'))!.toString()).toBe('hell');
    expect(again.chunks.get(sha256Hex('bee'))!.toString()).toBe('bee');
    expect(again.versions.contentChunks(a2.hash)!.map((c) => c.offset)).toEqual([0, 4, 8]);
    expect(again.versions.changesBetween(1, 2).length).toBe(3); // put a.txt, put c, delete dir/b.txt

    // And it carries on from there: only newer versions are accepted.
    expect(() => commit(again, 2, [a])).toThrow(/not newer/);
    commit(again, 3, [a]);
    expect(again.versions.current().version).toBe(3);
  });

  it('migrates once: reopening keeps the schema, the data and user_version', () => {
    const first = open();
    const schema = schemaOf(first);
    commit(first, 1, [stored(first, 'x', 'data')]);
    first.replicas.save({
      name: 'uk-london',
      region: 'uk',
      version: 1,
      root: EMPTY_ROOT,
      lastSeenAt: 5,
      error: null,
      advertise: null,
      link: 'push',
    });
    first.close();
    for (let i = 0; i < 3; i++) {
      const again = open();
      expect(again.db.pragma('user_version', { simple: true })).toBe(listMigrations().at(-1)!.number);
      expect(schemaOf(again)).toEqual(schema);
      expect(again.versions.current().version).toBe(1);
      expect(again.replicas.all().map((r) => r.name)).toEqual(['uk-london']);
      again.close();
    }
  });

  it('sees a commit made by another connection to the same file', () => {
    const writer = open();
    const reader = open();
    const root = commit(writer, 1, [stored(writer, 'a', 'shared')]);
    expect(reader.versions.current()).toEqual({ version: 1, root });
    expect(reader.chunks.has(sha256Hex('shar'))).toBe(true);
  });

  it('refuses a store written by a newer schema', () => {
    const file = join(dir, 'future.db');
    const db = new BetterSqlite3(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openStore(file)).toThrow(/newer than this program knows/);
    // The refused open left the file as it was.
    const check = new BetterSqlite3(file);
    expect(check.pragma('user_version', { simple: true })).toBe(99);
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    check.close();
  });

  it("counts, as room to grow, its volume's free space and the pages it holds free itself", () => {
    const store = open();
    const chunks = Array.from({ length: 128 }, (_, i) => {
      const data = Buffer.alloc(64 * 1024, i);
      return { hash: sha256Hex(data), data };
    });
    store.chunks.putMany(chunks);
    for (const c of chunks) store.chunks.delete(c.hash);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const freePageBytes =
      (store.db.pragma('freelist_count', { simple: true }) as number) *
      (store.db.pragma('page_size', { simple: true }) as number);
    // 8 MiB written and deleted: the file keeps those pages for its next writes.
    expect(freePageBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    const volume = () => {
      const fs = statfsSync(dir);
      return fs.bavail * fs.bsize;
    };
    // Other tests write to the same volume meanwhile: bracket the reading, with 1 MiB of slack.
    const before = volume();
    const free = store.freeBytes();
    const after = volume();
    expect(free - freePageBytes).toBeGreaterThanOrEqual(Math.min(before, after) - 1024 * 1024);
    expect(free - freePageBytes).toBeLessThanOrEqual(Math.max(before, after) + 1024 * 1024);
  });
});

describe('roots of an older release', () => {
  it('are recomputed on open when a migration marked them, for every held version', () => {
    const file = join(dir, 'old.db');
    const store = open(file);
    const a = stored(store, 'a.txt', 'alpha');
    const b = stored(store, 'b/c.txt', 'bravo');
    const r1 = commit(store, 1, [a]);
    const r2 = commit(store, 2, [a, b]);
    // What an earlier release left: other roots, and the marker migration 004 sets.
    store.db.prepare("UPDATE versions SET root = 'old-' || version").run();
    store.db.prepare("UPDATE meta SET value = 'old-2' WHERE key = 'current_root'").run();
    store.db.prepare("INSERT INTO meta (key, value) VALUES ('recompute_roots', '1')").run();
    store.close();

    const again = open(file);
    expect(again.versions.get(1)!.root).toBe(r1);
    expect(again.versions.get(2)!.root).toBe(r2);
    expect(again.versions.current()).toEqual({ version: 2, root: r2 });
    expect(again.db.prepare("SELECT value FROM meta WHERE key = 'recompute_roots'").get()).toBeUndefined();
  });
});
