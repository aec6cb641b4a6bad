import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyChanges,
  type Change,
  chunkBuffer,
  comparePaths,
  diffTrees,
  EMPTY_ROOT,
  merkleRoot,
  sha256Hex,
  type Tree,
  type TreeEntry,
} from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from './store.js';
import { type CommitInput, CommitRefusedError } from './version-store.js';

const CHUNK = 4;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

let dir: string;
let opened: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-versions-'));
});

afterEach(() => {
  for (const store of opened) if (store.db.open) store.close();
  opened = [];
  rmSync(dir, { recursive: true, force: true });
});

function open(): Store {
  const store = openStore(join(dir, 'store.db'));
  opened.push(store);
  return store;
}

/** An entry for the content, chunked at 4 bytes; its chunks are not stored. */
function entryOf(path: string, content: string, mtime = 1_000): TreeEntry {
  const data = Buffer.from(content);
  return {
    path,
    size: data.length,
    hash: sha256Hex(data),
    mtime,
    chunks: chunkBuffer(data, CHUNK).map((c) => ({ hash: sha256Hex(c), size: c.length })),
  };
}

/** An entry whose chunks are stored, as a publisher would do before committing. */
function stored(store: Store, path: string, content: string, mtime = 1_000): TreeEntry {
  for (const c of chunkBuffer(Buffer.from(content), CHUNK)) store.chunks.put(sha256Hex(c), c);
  return entryOf(path, content, mtime);
}

function tree(...entries: TreeEntry[]): Map<string, TreeEntry> {
  return new Map(entries.map((e) => [e.path, e]));
}

function input(version: number, target: Tree, changes: readonly Change[]): CommitInput {
  let bytes = 0;
  for (const e of target.values()) bytes += e.size;
  return {
    version,
    root: merkleRoot(target.values()),
    createdAt: 1_700_000_000_000 + version,
    files: target.size,
    bytes,
    changes,
  };
}

/** Commits `target` as `version`, with the diff from the live tree. */
function commitTree(store: Store, version: number, target: Tree): void {
  store.versions.commit(input(version, target, diffTrees(store.versions.liveTree(), target).changes));
}

/** A tree's entries in path order, as plain objects: a one-chunk entry makes its list when asked. */
function sorted(t: Tree | undefined): TreeEntry[] {
  expect(t).toBeDefined();
  return [...t!.values()]
    .sort((a, b) => comparePaths(a.path, b.path))
    .map(({ path, size, hash, mtime, chunks }) => ({ path, size, hash, mtime, chunks }));
}

const summary = (changes: Change[]) =>
  changes.map((c) => (c.op === 'put' ? `put ${c.entry.path} ${c.entry.size}` : `delete ${c.path}`)).sort();

function count(store: Store, table: string): number {
  return store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
}

function snapshot(store: Store) {
  return {
    current: store.versions.current(),
    live: sorted(store.versions.liveTree()),
    list: store.versions.list(),
    entries: store.db.prepare('SELECT * FROM entries ORDER BY path, added_in').all(),
    contents: count(store, 'contents'),
    contentChunks: count(store, 'content_chunks'),
    meta: store.db.prepare('SELECT * FROM meta ORDER BY key').all(),
  };
}

describe('VersionStore before the first commit', () => {
  it('is at version 0 with the empty root and holds nothing', () => {
    const { versions } = open();
    expect(versions.current()).toEqual({ version: 0, root: EMPTY_ROOT });
    expect(versions.liveTree().size).toBe(0);
    expect(versions.list()).toEqual([]);
    expect(versions.get(1)).toBeUndefined();
    expect(versions.treeAt(0)).toBeUndefined();
    expect(versions.treeAt(1)).toBeUndefined();
    expect(versions.changesBetween(0, 0)).toEqual([]);
    expect(versions.contentChunks(EMPTY_SHA256)).toBeUndefined();
  });
});

describe('VersionStore.commit', () => {
  it('records the version, makes it current and serves its tree with chunk lists', () => {
    const store = open();
    const t = tree(stored(store, 'a.txt', 'hello world'), stored(store, 'dir/b.bin', 'xyz', 5));
    commitTree(store, 1, t);
    const root = merkleRoot(t.values());
    expect(store.versions.current()).toEqual({ version: 1, root });
    expect(sorted(store.versions.liveTree())).toEqual(sorted(t));
    expect(store.versions.liveTree().get('a.txt')!.chunks).toEqual([
      { hash: sha256Hex('hell'), size: 4 },
      { hash: sha256Hex('o wo'), size: 4 },
      { hash: sha256Hex('rld'), size: 3 },
    ]);
    // A file that is its one chunk is held without a list (three objects fewer per small file).
    expect(Object.hasOwn(store.versions.liveTree().get('dir/b.bin')!, 'chunks')).toBe(false);
    const record = { version: 1, root, createdAt: 1_700_000_000_001, files: 2, bytes: 14 };
    expect(store.versions.get(1)).toEqual(record);
    expect(store.versions.list()).toEqual([record]);
  });

  it('says where a chunk lies in the files of the current tree, and only there', () => {
    const store = open();
    commitTree(store, 1, tree(stored(store, 'a.txt', 'hello world'), stored(store, 'b.txt', 'say hello')));
    // 'o wo' lies at 4 in a.txt; 'hell' at 0 in a.txt and nowhere on a chunk edge in b.txt.
    expect(store.versions.livePlacesOf(sha256Hex('o wo'))).toEqual([{ path: 'a.txt', offset: 4, size: 4 }]);
    commitTree(store, 2, tree(stored(store, 'b.txt', 'say hello')));
    // Gone from the current tree: a kept version's file is no place to mend from.
    expect(store.versions.livePlacesOf(sha256Hex('o wo'))).toEqual([]);
    expect(store.versions.livePlacesOf(sha256Hex('say '))).toEqual([{ path: 'b.txt', offset: 0, size: 4 }]);
  });

  it('lists versions newest first', () => {
    const store = open();
    commitTree(store, 1, tree(stored(store, 'a', '1')));
    commitTree(store, 2, tree(stored(store, 'a', '2')));
    commitTree(store, 7, tree(stored(store, 'a', '7')));
    expect(store.versions.list().map((v) => v.version)).toEqual([7, 2, 1]);
    expect(store.versions.current().version).toBe(7);
  });

  it('stores an empty file as content with no chunks and the hash of nothing', () => {
    const store = open();
    const empty = stored(store, 'empty.txt', '');
    expect(empty).toEqual({ path: 'empty.txt', size: 0, hash: EMPTY_SHA256, mtime: 1_000, chunks: [] });
    commitTree(store, 1, tree(empty));
    expect(store.versions.liveTree().get('empty.txt')).toEqual(empty);
    expect(store.versions.contentChunks(EMPTY_SHA256)).toEqual([]);
    expect(store.versions.get(1)).toMatchObject({ files: 1, bytes: 0 });
  });

  it('places each chunk of a content at its offset', () => {
    const store = open();
    commitTree(store, 1, tree(stored(store, 'f', 'abcdefghij')));
    expect(store.versions.contentChunks(sha256Hex('abcdefghij'))).toEqual([
      { hash: sha256Hex('abcd'), size: 4, offset: 0 },
      { hash: sha256Hex('efgh'), size: 4, offset: 4 },
      { hash: sha256Hex('ij'), size: 2, offset: 8 },
    ]);
    expect(store.versions.contentChunks(sha256Hex('unknown'))).toBeUndefined();
  });

  it('stores a repeated chunk once and a shared content once', () => {
    const store = open();
    const a = stored(store, 'a', 'abcdabcdxy');
    const b = stored(store, 'copy/of/a', 'abcdabcdxy', 2_000);
    commitTree(store, 1, tree(a, b));
    expect(store.versions.contentChunks(a.hash)).toEqual([
      { hash: sha256Hex('abcd'), size: 4, offset: 0 },
      { hash: sha256Hex('abcd'), size: 4, offset: 4 },
      { hash: sha256Hex('xy'), size: 2, offset: 8 },
    ]);
    expect(count(store, 'chunks')).toBe(2);
    expect(count(store, 'contents')).toBe(1);
    expect(count(store, 'content_chunks')).toBe(3);
    expect(sorted(store.versions.liveTree())).toEqual([a, b]);
  });

  it('refuses a commit that refers to a chunk not stored, and changes nothing', () => {
    const store = open();
    const v1 = tree(stored(store, 'a', 'one'), stored(store, 'b', 'two'), stored(store, 'c', 'three'));
    commitTree(store, 1, v1);
    const before = snapshot(store);
    const chunksBefore = count(store, 'chunks');

    const missing = entryOf('z/missing.bin', 'these bytes were never stored');
    // Good changes first, so the refusal must undo work already done in the transaction.
    const changes: Change[] = [
      { op: 'put', entry: stored(store, 'a', 'one, edited') },
      { op: 'delete', path: 'b' },
      { op: 'put', entry: stored(store, 'new', 'new file') },
      { op: 'put', entry: missing },
    ];
    const chunksStored = count(store, 'chunks');
    expect(chunksStored).toBeGreaterThan(chunksBefore);
    const target = applyChanges(v1, changes);
    expect(() => store.versions.commit(input(2, target, changes))).toThrow(CommitRefusedError);
    expect(() => store.versions.commit(input(2, target, changes))).toThrow(/z\/missing\.bin/);

    expect(snapshot(store)).toEqual(before);
    expect(store.versions.get(2)).toBeUndefined();
    expect(store.versions.treeAt(2)).toBeUndefined();
    // Chunks put before the commit are not the commit's to undo.
    expect(count(store, 'chunks')).toBe(chunksStored);

    // Once the chunks are there, the same version commits cleanly.
    for (const c of chunkBuffer(Buffer.from('these bytes were never stored'), CHUNK))
      store.chunks.put(sha256Hex(c), c);
    store.versions.commit(input(2, target, changes));
    expect(store.versions.current()).toEqual({ version: 2, root: merkleRoot(target.values()) });
    expect(sorted(store.versions.liveTree())).toEqual(sorted(target));
  });

  it('refuses chunks whose stored size differs from the declared one', () => {
    const store = open();
    commitTree(store, 1, tree(stored(store, 'a', 'one')));
    const before = snapshot(store);
    const good = stored(store, 'b', 'abcdefgh');
    const lying: TreeEntry = {
      ...good,
      chunks: [
        { hash: good.chunks[0]!.hash, size: 5 },
        { ...good.chunks[1]!, size: 3 },
      ],
    };
    const changes: Change[] = [{ op: 'put', entry: lying }];
    expect(() => store.versions.commit(input(2, tree(lying), changes))).toThrow(CommitRefusedError);
    expect(() => store.versions.commit(input(2, tree(lying), changes))).toThrow(/wrong size/);
    expect(snapshot(store)).toEqual(before);
  });

  it('refuses an entry whose chunks do not add up to its size', () => {
    const store = open();
    commitTree(store, 1, tree(stored(store, 'a', 'one')));
    const before = snapshot(store);
    const good = stored(store, 'b', 'abcdefgh');
    for (const bad of [
      { ...good, size: 9 },
      { ...good, size: 7 },
      { ...good, chunks: good.chunks.slice(0, 1) },
      { ...good, chunks: [...good.chunks, good.chunks[0]!] },
    ]) {
      const changes: Change[] = [{ op: 'put', entry: bad }];
      expect(() => store.versions.commit(input(2, tree(bad), changes))).toThrow(CommitRefusedError);
      expect(snapshot(store)).toEqual(before);
    }
  });

  it('refuses an entry whose size disagrees with content the store already holds', () => {
    const store = open();
    const a = stored(store, 'a', 'abcdefgh');
    commitTree(store, 1, tree(a));
    const before = snapshot(store);
    // Same content hash under a new path, but a different size: the store knows the content is 8 bytes.
    const liar: TreeEntry = { ...a, path: 'b', size: 9 };
    const changes: Change[] = [{ op: 'put', entry: liar }];
    expect(() => store.versions.commit(input(2, tree(a, liar), changes))).toThrow(CommitRefusedError);
    expect(snapshot(store)).toEqual(before);
    // The honest copy is fine and reuses the stored content.
    const copy: TreeEntry = { ...a, path: 'b' };
    store.versions.commit(input(2, tree(a, copy), [{ op: 'put', entry: copy }]));
    expect(store.versions.liveTree().get('b')).toEqual(copy);
    expect(count(store, 'contents')).toBe(1);
  });

  it('only moves forward: the same or a lower version is refused and changes nothing', () => {
    const store = open();
    expect(() => store.versions.commit(input(0, new Map(), []))).toThrow(CommitRefusedError);
    expect(() => store.versions.commit(input(-1, new Map(), []))).toThrow(CommitRefusedError);
    expect(store.versions.current()).toEqual({ version: 0, root: EMPTY_ROOT });
    expect(store.versions.list()).toEqual([]);

    commitTree(store, 3, tree(stored(store, 'a', 'three')));
    const before = snapshot(store);
    for (const version of [3, 2, 1, 0]) {
      const t = tree(stored(store, 'a', `attempt ${version}`));
      const changes: Change[] = [{ op: 'put', entry: t.get('a')! }];
      expect(() => store.versions.commit(input(version, t, changes))).toThrow(CommitRefusedError);
      expect(() => store.versions.commit(input(version, t, changes))).toThrow(/not newer than 3/);
      expect(snapshot(store)).toEqual(before);
    }
    commitTree(store, 4, tree(stored(store, 'a', 'four')));
    expect(store.versions.current().version).toBe(4);
  });

  it('accepts a version with no changes (a new number for the same tree)', () => {
    const store = open();
    const t = tree(stored(store, 'a', 'x'));
    commitTree(store, 1, t);
    store.versions.commit(input(2, t, []));
    expect(store.versions.current()).toEqual({ version: 2, root: merkleRoot(t.values()) });
    expect(sorted(store.versions.treeAt(2))).toEqual(sorted(t));
    expect(store.versions.changesBetween(1, 2)).toEqual([]);
  });

  it('costs rows in proportion to the change, not the tree', () => {
    const store = open();
    const entries = Array.from({ length: 50 }, (_, i) => stored(store, `f${i}`, `content ${i}`));
    commitTree(store, 1, tree(...entries));
    expect(count(store, 'entries')).toBe(50);
    const edited = tree(...entries.slice(1), stored(store, 'f0', 'edited'));
    commitTree(store, 2, edited);
    expect(count(store, 'entries')).toBe(51);
  });
});

describe('VersionStore trees', () => {
  it('drops deleted paths from the live tree but keeps them in older versions', () => {
    const store = open();
    const a = stored(store, 'a', 'aaa');
    const b = stored(store, 'b', 'bbb');
    const c = stored(store, 'sub/c', 'ccc');
    commitTree(store, 1, tree(a, b, c));
    commitTree(store, 2, tree(a, c));
    commitTree(store, 3, tree(c));
    expect(sorted(store.versions.liveTree())).toEqual([c]);
    expect(sorted(store.versions.treeAt(3))).toEqual([c]);
    expect(sorted(store.versions.treeAt(2))).toEqual([a, c]);
    expect(sorted(store.versions.treeAt(1))).toEqual([a, b, c]);
    commitTree(store, 4, new Map());
    expect(store.versions.liveTree().size).toBe(0);
    expect(store.versions.treeAt(4)!.size).toBe(0);
    expect(store.versions.current()).toEqual({ version: 4, root: EMPTY_ROOT });
  });

  it('gives each older version its own content for a path edited over time', () => {
    const store = open();
    const versions = ['v1 text', 'version two', 'three!', 'v1 text'];
    versions.forEach((text, i) => {
      commitTree(store, i + 1, tree(stored(store, 'doc.txt', text, 1_000 + i)));
    });
    versions.forEach((text, i) => {
      const entry = store.versions.treeAt(i + 1)!.get('doc.txt')!;
      expect(entry).toEqual(entryOf('doc.txt', text, 1_000 + i));
    });
    // The content of version 1 came back in version 4 and is stored once.
    expect(count(store, 'contents')).toBe(3);
  });

  it('has no tree for a version it does not hold', () => {
    const store = open();
    commitTree(store, 2, tree(stored(store, 'a', 'a')));
    commitTree(store, 5, tree(stored(store, 'a', 'b')));
    expect(store.versions.treeAt(1)).toBeUndefined();
    expect(store.versions.treeAt(3)).toBeUndefined();
    expect(store.versions.treeAt(6)).toBeUndefined();
    expect(store.versions.treeAt(2)!.get('a')!.hash).toBe(sha256Hex('a'));
    expect(store.versions.treeAt(5)!.get('a')!.hash).toBe(sha256Hex('b'));
  });
});

describe('VersionStore.changesBetween', () => {
  /**
   * v1: a, b, c, d, keep
   * v2: a edited, b deleted, tmp added, d touched (mtime only)
   * v3: b re-added with new content, tmp deleted, c renamed to c2
   * v4: a deleted, keep unchanged, late added
   */
  function history(store: Store) {
    const keep = stored(store, 'keep', 'never changes');
    const v1 = tree(
      stored(store, 'a', 'alpha'),
      stored(store, 'b', 'bravo'),
      stored(store, 'c', 'charlie moves'),
      stored(store, 'd', 'delta', 1),
      keep,
    );
    const v2 = tree(stored(store, 'a', 'alpha edited'), v1.get('c')!, stored(store, 'd', 'delta', 2), keep);
    v2.set('tmp', stored(store, 'tmp', 'short-lived'));
    const v3 = tree(
      v2.get('a')!,
      stored(store, 'b', 'bravo is back'),
      stored(store, 'c2', 'charlie moves'),
      v2.get('d')!,
      keep,
    );
    const v4 = tree(v3.get('b')!, v3.get('c2')!, v3.get('d')!, keep, stored(store, 'late', 'late'));
    const trees = [new Map<string, TreeEntry>(), v1, v2, v3, v4];
    trees.slice(1).forEach((t, i) => {
      commitTree(store, i + 1, t);
    });
    return trees;
  }

  it('gives puts and deletes across one version', () => {
    const store = open();
    history(store);
    expect(summary(store.versions.changesBetween(1, 2))).toEqual([
      'delete b',
      'put a 12',
      'put d 5',
      'put tmp 11',
    ]);
    expect(summary(store.versions.changesBetween(2, 3))).toEqual([
      'delete c',
      'delete tmp',
      'put b 13',
      'put c2 13',
    ]);
  });

  it('gives puts and deletes across several versions', () => {
    const store = open();
    const trees = history(store);
    const changes = store.versions.changesBetween(1, 3);
    // b was deleted then re-added: a put, not a delete; tmp came and went: absent;
    // c was renamed: a delete and a put; keep did not change: absent.
    expect(summary(changes)).toEqual(['delete c', 'put a 12', 'put b 13', 'put c2 13', 'put d 5']);
    const putB = changes.find((c) => c.op === 'put' && c.entry.path === 'b');
    expect(putB).toEqual({ op: 'put', entry: trees[3]!.get('b') });
    expect(summary(store.versions.changesBetween(1, 4))).toEqual([
      'delete a',
      'delete c',
      'put b 13',
      'put c2 13',
      'put d 5',
      'put late 4',
    ]);
    expect(summary(store.versions.changesBetween(2, 4))).toEqual([
      'delete a',
      'delete c',
      'delete tmp',
      'put b 13',
      'put c2 13',
      'put late 4',
    ]);
  });

  it('carries a rename as delete + put, which diffTrees recognises as a rename', () => {
    const store = open();
    history(store);
    const from = store.versions.treeAt(2)!;
    const to = store.versions.treeAt(3)!;
    expect(diffTrees(from, to).renames).toEqual([{ from: 'c', to: 'c2' }]);
    const changes = store.versions.changesBetween(2, 3);
    expect(changes).toContainEqual({ op: 'delete', path: 'c' });
    expect(changes).toContainEqual({ op: 'put', entry: to.get('c2') });
  });

  it('gives the whole tree as puts from version 0', () => {
    const store = open();
    const trees = history(store);
    const changes = store.versions.changesBetween(0, 3);
    expect(changes.every((c) => c.op === 'put')).toBe(true);
    expect(sorted(applyChanges(new Map(), changes))).toEqual(sorted(trees[3]));
  });

  it('gives nothing when from is not before to', () => {
    const store = open();
    history(store);
    expect(store.versions.changesBetween(3, 3)).toEqual([]);
    expect(store.versions.changesBetween(4, 1)).toEqual([]);
  });

  it('turns every held version into every later one', () => {
    const store = open();
    const trees = history(store);
    for (let from = 0; from <= 4; from++) {
      for (let to = from + 1; to <= 4; to++) {
        const changes = store.versions.changesBetween(from, to);
        const paths = changes.map((c) => (c.op === 'put' ? c.entry.path : c.path));
        expect(new Set(paths).size, `${from}->${to}`).toBe(paths.length);
        expect(sorted(applyChanges(trees[from]!, changes)), `${from}->${to}`).toEqual(sorted(trees[to]));
      }
    }
  });

  it('agrees with a model over a random history', () => {
    let seed = 2024;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const store = open();
    const trees: Map<string, TreeEntry>[] = [new Map()];
    let current = new Map<string, TreeEntry>();
    for (let version = 1; version <= 12; version++) {
      const next = new Map(current);
      for (let i = 0; i < 10; i++) {
        const path = `p${i}`;
        const roll = random();
        if (roll < 0.2) next.delete(path);
        else if (roll < 0.45) {
          next.set(
            path,
            stored(store, path, `content ${Math.floor(random() * 5)}`, 1 + Math.floor(random() * 3)),
          );
        }
      }
      commitTree(store, version, next);
      trees.push(next);
      current = next;
    }
    for (let v = 1; v <= 12; v++) {
      expect(sorted(store.versions.treeAt(v)), `treeAt(${v})`).toEqual(sorted(trees[v]));
      expect(store.versions.get(v)!.root).toBe(merkleRoot(trees[v]!.values()));
    }
    expect(sorted(store.versions.liveTree())).toEqual(sorted(trees[12]));
    for (let from = 0; from <= 12; from++) {
      for (let to = from + 1; to <= 12; to++) {
        const changes = store.versions.changesBetween(from, to);
        expect(sorted(applyChanges(trees[from]!, changes)), `${from}->${to}`).toEqual(sorted(trees[to]));
        for (const c of changes) {
          if (c.op === 'delete') {
            expect(trees[from]!.has(c.path)).toBe(true);
            expect(trees[to]!.has(c.path)).toBe(false);
          }
        }
      }
    }
  });
});
