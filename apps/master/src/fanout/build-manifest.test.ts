import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyChanges,
  applyChunkListEdit,
  applyChunkPatch,
  type Change,
  chunkBuffer,
  chunkListDigest,
  comparePaths,
  DEFAULT_CHUNK_SIZE,
  diffTrees,
  EMPTY_ROOT,
  merkleRoot,
  sha256Hex,
  type Tree,
  type TreeEntry,
} from '@outpost/core';
import { LIMITS, type Manifest, ManifestSchema, type WireChange } from '@outpost/protocol';
import { openStore, type Store } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildManifest, cutIntoParts } from './build-manifest.js';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-build-manifest-'));
  store = openStore(join(dir, 'master.db'));
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Stores the content's chunks, as the publisher does, and returns its entry. */
function put(path: string, content: Buffer | string, mtime = 1_700_000_000_000): TreeEntry {
  const data = Buffer.from(content);
  const chunks = chunkBuffer(data);
  for (const c of chunks) store.chunks.put(sha256Hex(c), c);
  return {
    path,
    size: data.length,
    hash: sha256Hex(data),
    mtime,
    chunks: chunks.map((c) => ({ hash: sha256Hex(c), size: c.length })),
  };
}

const tree = (...entries: TreeEntry[]) => new Map(entries.map((e) => [e.path, e]));

/** Commits `target` as `version` with the diff from the live tree; returns its root. */
function commit(version: number, target: Tree): string {
  let bytes = 0;
  for (const e of target.values()) bytes += e.size;
  const root = merkleRoot(target.values());
  store.versions.commit({
    version,
    root,
    createdAt: 1_700_000_000_000 + version,
    files: target.size,
    bytes,
    changes: diffTrees(store.versions.liveTree(), target).changes,
  });
  return root;
}

/** Valid by the wire schema, and returned as parsed. */
function valid(m: Manifest): Manifest {
  const parsed = ManifestSchema.safeParse(m);
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
  return m;
}

const toCore = (changes: WireChange[]): Change[] =>
  changes.map((c): Change => {
    if (c.op === 'delete') return c;
    const { path, size, hash, mtime, chunks } = c;
    return { op: 'put', entry: { path, size, hash, mtime, chunks } };
  });

const summary = (changes: WireChange[]) =>
  changes.map((c) => (c.op === 'put' ? `put ${c.path}` : `delete ${c.path}`)).sort();

const sorted = (t: Tree) => [...t.values()].sort((a, b) => comparePaths(a.path, b.path));

const big = Buffer.alloc(DEFAULT_CHUNK_SIZE + 5_000, 7);
for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;

/**
 * v1: a.txt, b.txt, dir/c.txt
 * v2: a.txt edited, b.txt deleted, d.txt added
 * v4: empty.txt and big.bin (two chunks) added (there is no version 3)
 */
function history() {
  const v1 = tree(put('a.txt', 'alpha'), put('b.txt', 'bravo'), put('dir/c.txt', 'charlie'));
  const v2 = tree(put('a.txt', 'alpha, edited'), v1.get('dir/c.txt')!, put('d.txt', 'delta'));
  const v4 = tree(...v2.values(), put('empty.txt', ''), put('big.bin', big));
  const roots = { 1: commit(1, v1), 2: commit(2, v2), 4: commit(4, v4) };
  return { trees: { 1: v1, 2: v2, 4: v4 } as Record<number, Tree>, roots };
}

describe('buildManifest', () => {
  it('gives an empty manifest from an empty master', () => {
    for (const root of [undefined, EMPTY_ROOT]) {
      expect(valid(buildManifest(store, 0, root))).toEqual({
        version: 0,
        root: EMPTY_ROOT,
        from: 0,
        full: false,
        changes: [],
      });
    }
  });

  it('gives no changes to a replica at the latest version', () => {
    const { roots } = history();
    for (const root of [roots[4], undefined]) {
      expect(valid(buildManifest(store, 4, root))).toEqual({
        version: 4,
        root: roots[4],
        from: 4,
        full: false,
        changes: [],
      });
    }
  });

  it('gives the changes since an older version the master holds', () => {
    const { trees, roots } = history();
    const from2 = valid(buildManifest(store, 2, roots[2]));
    expect(from2).toMatchObject({ version: 4, root: roots[4], from: 2, full: false });
    expect(summary(from2.changes)).toEqual(['put big.bin', 'put empty.txt']);

    const from1 = valid(buildManifest(store, 1, roots[1]));
    expect(from1).toMatchObject({ version: 4, root: roots[4], from: 1, full: false });
    expect(summary(from1.changes)).toEqual([
      'delete b.txt',
      'put a.txt',
      'put big.bin',
      'put d.txt',
      'put empty.txt',
    ]);

    // Without a root to check, the master trusts the version number.
    expect(buildManifest(store, 1, undefined)).toEqual(from1);

    for (const [from, m] of [
      [1, from1],
      [2, from2],
    ] as const) {
      const next = applyChanges(trees[from]!, toCore(m.changes));
      expect(sorted(next)).toEqual(sorted(trees[4]!));
      expect(merkleRoot(next.values())).toBe(m.root);
    }
  });

  it('gives every live entry from version 0', () => {
    const { trees, roots } = history();
    const m = valid(buildManifest(store, 0, EMPTY_ROOT));
    expect(m).toMatchObject({ version: 4, root: roots[4], from: 0, full: false });
    expect(m.changes.every((c) => c.op === 'put')).toBe(true);
    expect(sorted(applyChanges(new Map(), toCore(m.changes)))).toEqual(sorted(trees[4]!));
  });

  it('gives a full manifest when the replica does not share the history', () => {
    const { trees, roots } = history();
    const expectFull = (m: Manifest) => {
      valid(m);
      expect(m).toMatchObject({ version: 4, root: roots[4], from: 0, full: true });
      expect(m.changes.every((c) => c.op === 'put')).toBe(true);
      expect(summary(m.changes)).toEqual([
        'put a.txt',
        'put big.bin',
        'put d.txt',
        'put dir/c.txt',
        'put empty.txt',
      ]);
      expect(sorted(applyChanges(new Map(), toCore(m.changes)))).toEqual(sorted(trees[4]!));
    };
    // A held version, but the replica's root is another one.
    expectFull(buildManifest(store, 2, roots[1]));
    // The latest version number, with another root.
    expectFull(buildManifest(store, 4, roots[2]));
    // Version 0 that claims to hold something.
    expectFull(buildManifest(store, 0, roots[1]));
    // A version the master never had.
    expectFull(buildManifest(store, 3, undefined));
    expectFull(buildManifest(store, 3, roots[2]));
    // A version newer than anything the master has.
    expectFull(buildManifest(store, 5, undefined));
    expectFull(buildManifest(store, 99, roots[4]));
  });

  it('carries small contents inline and large ones by reference', () => {
    history();
    const m = valid(buildManifest(store, 0, undefined));
    const byPath = new Map(m.changes.map((c) => [c.path, c]));
    const dataOf = (path: string) => {
      const c = byPath.get(path);
      expect(c?.op).toBe('put');
      return c?.op === 'put' ? c.data : 'not a put';
    };
    expect(dataOf('a.txt')).toBe(Buffer.from('alpha, edited').toString('base64'));
    expect(dataOf('dir/c.txt')).toBe(Buffer.from('charlie').toString('base64'));
    expect(dataOf('d.txt')).toBe(Buffer.from('delta').toString('base64'));
    expect(dataOf('empty.txt')).toBe('');
    expect(byPath.get('empty.txt')).toMatchObject({ size: 0, chunks: [] });
    expect(dataOf('big.bin')).toBeUndefined();
    expect(byPath.get('big.bin')).not.toHaveProperty('data');
    expect(byPath.get('big.bin')).toMatchObject({ size: big.length });
    const bigPut = byPath.get('big.bin');
    expect(bigPut?.op === 'put' && bigPut.chunks.length).toBe(2);
  });

  it('does not inline what the replica already holds: a renamed or copied small file', () => {
    const note = put('note.txt', 'a small note\n');
    commit(1, tree(note));
    const moved = { ...note, path: 'archive/note.txt' };
    const fresh = put('fresh.txt', 'new content\n');
    commit(2, tree(moved, fresh));
    const m = valid(buildManifest(store, 1, undefined));
    const puts = new Map(m.changes.flatMap((c) => (c.op === 'put' ? [[c.path, c] as const] : [])));
    expect(puts.get('archive/note.txt')!.data).toBeUndefined();
    expect(puts.get('fresh.txt')!.data).toBe(Buffer.from('new content\n').toString('base64'));
    // With no history (a full manifest) it is inlined.
    const full = valid(buildManifest(store, 0, undefined));
    expect(full.changes.find((c) => c.op === 'put' && c.path === 'archive/note.txt')).toHaveProperty('data');
  });

  it('inlines up to 8 KiB, not a byte more', () => {
    const atLimit = Buffer.alloc(LIMITS.inlineFileBytes, 1);
    const over = Buffer.alloc(LIMITS.inlineFileBytes + 1, 2);
    commit(1, tree(put('at-limit.bin', atLimit), put('over.bin', over)));
    const m = valid(buildManifest(store, 0, undefined));
    const byPath = new Map(m.changes.map((c) => [c.path, c]));
    const at = byPath.get('at-limit.bin');
    const o = byPath.get('over.bin');
    expect(at?.op === 'put' && Buffer.from(at.data ?? 'missing', 'base64').equals(atLimit)).toBe(true);
    // One chunk, but too large to ride inline.
    expect(o?.op === 'put' && o.chunks.length).toBe(1);
    expect(o).not.toHaveProperty('data');
  });

  it('stops inlining once the budget of one manifest is spent', () => {
    const size = LIMITS.inlineFileBytes;
    const count = Math.ceil(LIMITS.inlineBudgetBytes / size) + 10;
    const files = Array.from({ length: count }, (_, i) => {
      const content = Buffer.alloc(size, i % 256);
      content.writeUInt32BE(i);
      return { content, entry: put(`f/${String(i).padStart(4, '0')}.bin`, content) };
    });
    commit(1, tree(...files.map((f) => f.entry)));
    const m = valid(buildManifest(store, 0, undefined));
    expect(m.changes).toHaveLength(count);
    const contents = new Map(files.map((f) => [f.entry.path, f.content]));
    let inlined = 0;
    for (const c of m.changes) {
      if (c.op !== 'put' || c.data === undefined) continue;
      // Whatever rides inline is exactly the file.
      expect(Buffer.from(c.data, 'base64').equals(contents.get(c.path)!), c.path).toBe(true);
      inlined += c.size;
    }
    expect(inlined).toBe(LIMITS.inlineBudgetBytes);
    expect(m.changes.filter((c) => c.op === 'put' && c.data === undefined)).toHaveLength(
      count - LIMITS.inlineBudgetBytes / size,
    );
  });

  it('keeps the wire fields of each entry', () => {
    const e = put('x/y.txt', 'why', 1_234_567);
    const root = commit(1, tree(e));
    expect(valid(buildManifest(store, 0, undefined))).toEqual({
      version: 1,
      root,
      from: 0,
      full: false,
      changes: [
        {
          op: 'put',
          path: 'x/y.txt',
          size: 3,
          hash: sha256Hex('why'),
          mtime: 1_234_567,
          chunks: [{ hash: sha256Hex('why'), size: 3 }],
          data: Buffer.from('why').toString('base64'),
        },
      ],
    });
  });
});

describe('chunk-list deltas', () => {
  // 40 chunks of the fixed chunker: a large file in small pieces.
  const big = Buffer.alloc(DEFAULT_CHUNK_SIZE * 40);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;

  it('name only the changed chunks of a large file edited in place, and resolve to its list', () => {
    const v1 = put('big.bin', big);
    commit(1, tree(v1));
    const edited = Buffer.from(big);
    edited[edited.length >> 1]! ^= 1;
    const v2 = put('big.bin', edited);
    commit(2, tree(v2));

    const m = valid(buildManifest(store, 1, undefined));
    const change = m.changes[0] as Extract<WireChange, { op: 'put' }>;
    expect(change.chunks).toEqual([]);
    expect(change.delta).toMatchObject({ base: v1.hash, at: 20, remove: 1 });
    expect(change.delta!.insert).toEqual([v2.chunks[20]]);
    expect(JSON.stringify(m).length).toBeLessThan(1000);
    const resolved = applyChunkListEdit(v1.chunks, change.delta!);
    expect(resolved).toEqual(v2.chunks);
    expect(change.delta!.baseDigest).toBe(chunkListDigest(v1.chunks));

    // A full manifest (a replica with no history) lists every chunk.
    const full = valid(buildManifest(store, 0, undefined));
    expect((full.changes[0] as Extract<WireChange, { op: 'put' }>).chunks).toEqual(v2.chunks);
  });

  it('list a file in full when most of it changed, or when it is new at that path', () => {
    const v1 = put('big.bin', big);
    commit(1, tree(v1));
    const other = Buffer.from(big.map((b) => 255 - b));
    commit(2, tree(put('big.bin', other), put('new.bin', big)));
    const m = valid(buildManifest(store, 1, undefined));
    for (const c of m.changes as Extract<WireChange, { op: 'put' }>[]) {
      expect(c.delta).toBeUndefined();
      expect(c.chunks).toHaveLength(40);
    }
  });
});

describe('chunk patches', () => {
  type Put = Extract<WireChange, { op: 'put' }>;
  const made = (c: Put, i: number) => {
    const p = c.patches![i]!;
    const base = store.chunks.get(p.base)!;
    return applyChunkPatch(base, { head: p.head, tail: p.tail, data: Buffer.from(p.data, 'base64') })!;
  };

  it('tell a small file edited in place as its edit, with no inline copy', () => {
    const text = `${'a line of some text file\n'.repeat(200)}`;
    commit(1, tree(put('notes.txt', text)));
    const edited = text.replace('a line of some text file\n', 'a line, edited\n');
    const v2 = put('notes.txt', edited);
    commit(2, tree(v2));
    const c = valid(buildManifest(store, 1, undefined)).changes[0] as Put;
    expect(c.data).toBeUndefined();
    expect(c.patches).toHaveLength(1);
    expect(c.patches![0]).toMatchObject({ hash: v2.hash, size: v2.size, head: 'a line'.length });
    expect(Buffer.from(c.patches![0]!.data, 'base64').length).toBeLessThan(30);
    expect(made(c, 0).equals(Buffer.from(edited))).toBe(true);
  });

  it('tell the changed chunk of a large file as its edit, beside the splice', () => {
    const big = Buffer.alloc(DEFAULT_CHUNK_SIZE * 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    commit(1, tree(put('big.bin', big)));
    const edited = Buffer.from(big);
    edited[edited.length >> 1]! ^= 1;
    const v2 = put('big.bin', edited);
    commit(2, tree(v2));
    const c = valid(buildManifest(store, 1, undefined)).changes[0] as Put;
    expect(c.delta!.insert).toEqual([v2.chunks[10]]);
    expect(c.patches).toHaveLength(1);
    expect(c.patches![0]).toMatchObject({
      hash: v2.chunks[10]!.hash,
      data: Buffer.from([edited[edited.length >> 1]!]).toString('base64'),
    });
    expect(made(c, 0).equals(store.chunks.get(v2.chunks[10]!.hash)!)).toBe(true);
  });

  it('read no more than 32 MiB of chunks for one manifest, however many files were rewritten', () => {
    const files = (label: string) =>
      Array.from({ length: 300 }, (_, i) =>
        put(`out/${i}.js`, randomBytes(DEFAULT_CHUNK_SIZE).fill(label, 0, 1)),
      );
    commit(1, tree(...files('a')));
    commit(2, tree(...files('b')));
    const get = store.chunks.get.bind(store.chunks);
    let read = 0;
    store.chunks.get = (hash: string) => {
      const data = get(hash);
      read += data?.length ?? 0;
      return data;
    };
    const m = valid(buildManifest(store, 1, undefined));
    expect(m.changes).toHaveLength(300);
    // Every file rewritten whole: no patch pays, and the tries stop at the budget (38 MiB
    // of old and new chunks were there to read).
    expect((m.changes as Put[]).some((c) => c.patches)).toBe(false);
    expect(read).toBeGreaterThan(16 * 1024 * 1024);
    expect(read).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it('are not made for content the replica holds, a full manifest, or an edit of most of a chunk', () => {
    const a = put('a.txt', 'the same old text, the same old text\n');
    const b = put('b.txt', 'x'.repeat(4000));
    commit(1, tree(a, b));
    // a.txt now holds what b.txt held; b.txt is rewritten whole.
    commit(2, tree({ ...b, path: 'a.txt' }, put('b.txt', 'y'.repeat(4000))));
    const m = valid(buildManifest(store, 1, undefined));
    for (const c of m.changes as Put[]) expect(c.patches, c.path).toBeUndefined();
    for (const c of valid(buildManifest(store, 0, undefined)).changes as Put[])
      expect(c.patches).toBeUndefined();
  });
});

describe('cutIntoParts', () => {
  const changes = (n: number): WireChange[] =>
    Array.from({ length: n }, (_, i) => ({ op: 'delete', path: `f${i}` }) as WireChange);
  const head = { version: 7, root: 'a'.repeat(64), from: 3, full: false };

  it('leaves a manifest that fits whole, without a part', () => {
    const m = { ...head, changes: changes(5) };
    expect(cutIntoParts(m, 5)).toEqual([m]);
  });

  it('cuts the changes in order into parts of at most `size`, each with the same head', () => {
    const m = { ...head, changes: changes(11) };
    const parts = cutIntoParts(m, 5).map(valid);
    expect(parts.map((p) => p.part)).toEqual([
      { index: 0, count: 3 },
      { index: 1, count: 3 },
      { index: 2, count: 3 },
    ]);
    expect(parts.map((p) => p.changes.length)).toEqual([5, 5, 1]);
    expect(parts.flatMap((p) => p.changes)).toEqual(m.changes);
    for (const p of parts) expect(p).toMatchObject(head);
  });

  it('cuts at the protocol limit by default', () => {
    const parts = cutIntoParts({ ...head, changes: changes(LIMITS.manifestPartChanges + 1) });
    expect(parts.map((p) => p.changes.length)).toEqual([LIMITS.manifestPartChanges, 1]);
  });
});

describe('buildManifest to a version', () => {
  it('leads to the version asked for, not the latest', () => {
    const { roots } = history();
    const m = valid(buildManifest(store, 1, roots[1], { version: 2, root: roots[2] }));
    expect(m).toMatchObject({ version: 2, root: roots[2], from: 1, full: false });
    expect(summary(m.changes)).toEqual(['delete b.txt', 'put a.txt', 'put d.txt']);
  });
});
