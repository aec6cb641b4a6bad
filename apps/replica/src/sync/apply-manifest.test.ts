import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chunkBuffer,
  chunkListDigest,
  comparePaths,
  diffChunkLists,
  EMPTY_ROOT,
  merkleRoot,
  sha256Hex,
  type TreeEntry,
} from '@outpost/core';
import { type Manifest, ManifestSchema, type WireChange } from '@outpost/protocol';
import { openStore, type Store } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptySnapshot, makeSnapshot, type Snapshot } from '../serve/snapshot.js';
import { ApplyError, applyManifest } from './apply-manifest.js';

/** Small chunks, so that ordinary test files have several. */
const CHUNK = 8;

let dir: string;
let store: Store;
/** The master's chunks, by address. */
let source: Map<string, Buffer>;
/** Every chunk fetched, in order. */
let fetched: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-apply-'));
  store = openStore(join(dir, 'replica.db'));
  source = new Map();
  fetched = [];
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface File {
  entry: TreeEntry;
  content: Buffer;
}

/** A file as the master would publish it; its chunks become fetchable. */
function file(path: string, content: string | Buffer, mtime = 1_700_000_000_000): File {
  const data = Buffer.from(content);
  const chunks = chunkBuffer(data, CHUNK);
  for (const c of chunks) source.set(sha256Hex(c), c);
  return {
    content: data,
    entry: {
      path,
      size: data.length,
      hash: sha256Hex(data),
      mtime,
      chunks: chunks.map((c) => ({ hash: sha256Hex(c), size: c.length })),
    },
  };
}

const put = (f: File, data?: string): WireChange => {
  const { path, size, hash, mtime, chunks } = f.entry;
  return { op: 'put', path, size, hash, mtime, chunks, ...(data === undefined ? {} : { data }) };
};

const del = (path: string): WireChange => ({ op: 'delete', path });

/** A manifest valid on the wire, whose root is that of `target`. */
function manifest(
  version: number,
  from: number,
  target: Iterable<File>,
  changes: WireChange[],
  full = false,
): Manifest {
  const m = { version, root: merkleRoot([...target].map((f) => f.entry)), from, full, changes };
  return ManifestSchema.parse(m);
}

const fetchChunk = async (hash: string, size: number): Promise<Buffer> => {
  fetched.push(hash);
  const data = source.get(hash);
  if (!data) throw new Error(`master answered 404 for chunk ${hash}`);
  expect(data.length).toBe(size);
  return data;
};

const deps = () => ({ store, fetchChunk });

/** What the store holds now, as the replica would load it at start. */
const held = (): Snapshot => {
  const cur = store.versions.current();
  return makeSnapshot(cur.version, store.versions.liveTree().values());
};

/** A tree's entries in path order, as plain objects: a one-chunk entry makes its list when asked. */
const sorted = (t: ReadonlyMap<string, TreeEntry>) =>
  [...t.values()]
    .sort((a, b) => comparePaths(a.path, b.path))
    .map(({ path, size, hash, mtime, chunks }) => ({ path, size, hash, mtime, chunks }));

/** The bytes of a path as the store would serve them. */
function served(path: string): Buffer {
  const entry = store.versions.liveTree().get(path);
  expect(entry, path).toBeDefined();
  const chunks = store.versions.contentChunks(entry!.hash)!;
  return Buffer.concat(chunks.map((c) => store.chunks.get(c.hash)!));
}

async function refused(p: Promise<unknown>, message: RegExp): Promise<ApplyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplyError);
  expect((err as Error).message).toMatch(message);
  return err as ApplyError;
}

/** Version 1: three files, one of them empty, one split in several chunks (one repeated). */
function v1() {
  const files = [
    file('a.txt', 'alpha alpha alpha alpha '),
    file('dir/b.txt', 'bravo'),
    file('dir/sub/empty.txt', ''),
  ];
  return {
    files,
    m: manifest(
      1,
      0,
      files,
      files.map((f) => put(f)),
      true,
    ),
  };
}

describe('applyManifest', () => {
  it('applies a full manifest onto an empty replica and commits it', async () => {
    const { files, m } = v1();
    const s = await applyManifest(emptySnapshot(), m, deps());

    expect(s.version).toBe(1);
    expect(s.root).toBe(m.root);
    expect(sorted(s.tree)).toEqual(sorted(new Map(files.map((f) => [f.entry.path, f.entry]))));
    expect(s.files).toBe(3);
    expect(s.bytes).toBe(29);
    expect([...s.dirs.keys()].sort()).toEqual(['dir', 'dir/sub']);

    expect(store.versions.current()).toEqual({ version: 1, root: m.root });
    expect(sorted(store.versions.liveTree())).toEqual(sorted(s.tree));
    expect(store.versions.get(1)).toMatchObject({ version: 1, root: m.root, files: 3, bytes: 29 });
    for (const f of files) expect(served(f.entry.path).equals(f.content), f.entry.path).toBe(true);

    // 'alpha al', 'pha alph', 'a alpha ' and 'bravo': each distinct chunk once, none for the empty file.
    expect(fetched.sort()).toEqual([...source.keys()].sort());
    expect(fetched).toHaveLength(4);
  });

  it('applies an incremental manifest, fetching only the chunks it lacks', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    fetched = [];

    const [a, b, empty] = first.files as [File, File, File];
    // Shares its first two chunks with the old a.txt.
    const a2 = file('a.txt', 'alpha alpha alpha alpha, and more');
    const c = file('c/new.txt', 'charlie');
    const target = [a2, empty, c];
    const m = manifest(2, 1, target, [put(a2), del('dir/b.txt'), put(c)]);
    const s2 = await applyManifest(s1, m, deps());

    expect(s2.version).toBe(2);
    expect(s2.root).toBe(m.root);
    expect([...s2.tree.keys()].sort()).toEqual(['a.txt', 'c/new.txt', 'dir/sub/empty.txt']);
    expect(s2.tree.get('a.txt')).toEqual(a2.entry);
    expect([...s2.dirs.keys()].sort()).toEqual(['c', 'dir', 'dir/sub']);
    expect(s2.files).toBe(3);
    expect(s2.bytes).toBe(a2.content.length + c.content.length);

    expect(store.versions.current()).toEqual({ version: 2, root: m.root });
    expect(sorted(store.versions.liveTree())).toEqual(sorted(s2.tree));
    // A restart would load the very same snapshot.
    const reloaded = held();
    const plain = (x: Snapshot) => ({
      ...x,
      tree: sorted(x.tree),
      dirs: [...x.dirs].sort(),
      live: undefined,
    });
    expect(plain(reloaded)).toEqual(plain(s2));
    expect(served('a.txt').equals(a2.content)).toBe(true);
    expect(served('c/new.txt').equals(c.content)).toBe(true);
    // The old version is still whole in the store.
    expect(store.versions.treeAt(1)!.get('dir/b.txt')).toEqual(b.entry);
    expect(store.versions.treeAt(1)!.get('a.txt')).toEqual(a.entry);

    const known = new Set(a.entry.chunks.map((ch) => ch.hash));
    const needed = [...a2.entry.chunks, ...c.entry.chunks].map((ch) => ch.hash).filter((h) => !known.has(h));
    expect(fetched.sort()).toEqual([...new Set(needed)].sort());
    // 'a alpha,', ' and mor', 'e' and 'charlie'.
    expect(fetched).toHaveLength(4);
  });

  it('applies a full manifest over a replica that held another history', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const x = file('x.txt', 'x marks the spot');
    const b = first.files[1]!;
    // Version 5 of another history: only x.txt and b.txt.
    const m = manifest(5, 0, [x, b], [put(x), put(b)], true);
    const s = await applyManifest(s1, m, deps());
    expect([...s.tree.keys()].sort()).toEqual(['dir/b.txt', 'x.txt']);
    expect(store.versions.current()).toEqual({ version: 5, root: m.root });
    expect([...store.versions.liveTree().keys()].sort()).toEqual(['dir/b.txt', 'x.txt']);
    expect(served('x.txt').toString()).toBe('x marks the spot');
    expect(
      store.versions
        .changesBetween(1, 5)
        .map((ch) => (ch.op === 'put' ? `put ${ch.entry.path}` : `delete ${ch.path}`))
        .sort(),
    ).toEqual(['delete a.txt', 'delete dir/sub/empty.txt', 'put x.txt']);
  });

  it('refuses a manifest whose changes do not give the published root, and commits nothing', async () => {
    const { files, m } = v1();
    const lying = { ...m, root: sha256Hex('some other tree') };
    await refused(applyManifest(emptySnapshot(), lying, deps()), /root mismatch/);
    // A change left out gives another root too.
    const missing = { ...m, changes: m.changes.slice(1) };
    await refused(applyManifest(emptySnapshot(), missing, deps()), /root mismatch/);
    expect(store.versions.current()).toEqual({ version: 0, root: EMPTY_ROOT });
    expect(store.versions.list()).toEqual([]);
    // Checked before anything is fetched or stored.
    expect(fetched).toEqual([]);
    for (const f of files) for (const ch of f.entry.chunks) expect(store.chunks.has(ch.hash)).toBe(false);
  });

  it('refuses an incremental manifest that starts from another version than the one held', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const c = file('c.txt', 'charlie');
    const target = [...first.files, c];
    for (const from of [0, 2, 3]) {
      const m = manifest(4, from, target, [put(c)]);
      await refused(
        applyManifest(s1, m, deps()),
        new RegExp(`starts at version ${from}, but version 1 is held`),
      );
    }
    expect(store.versions.current()).toEqual({ version: 1, root: first.m.root });
    expect(store.versions.list().map((v) => v.version)).toEqual([1]);
    // The same changes from the right version apply.
    await applyManifest(s1, manifest(4, 1, target, [put(c)]), deps());
    expect(store.versions.current().version).toBe(4);
  });

  it('refuses a version that is not newer than the one held', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const c = file('c.txt', 'charlie');
    const target = [...first.files, c];
    await refused(
      applyManifest(s1, manifest(1, 1, target, [put(c)]), deps()),
      /version 1 is not newer than the version held \(1\)/,
    );
    await refused(
      applyManifest(
        s1,
        manifest(
          1,
          0,
          target,
          target.map((f) => put(f)),
          true,
        ),
        deps(),
      ),
      /not newer/,
    );
    await refused(applyManifest(s1, manifest(0, 0, [], [], true), deps()), /not newer/);
    expect(store.versions.current()).toEqual({ version: 1, root: first.m.root });
    expect(store.versions.list().map((v) => v.version)).toEqual([1]);
  });

  it('keeps good inline content without fetching it', async () => {
    const small = file('small.txt', 'tiny'); // one chunk
    const empty = file('empty.txt', '');
    const m = manifest(
      1,
      0,
      [small, empty],
      [put(small, small.content.toString('base64')), put(empty, '')],
      true,
    );
    source.clear();
    const s = await applyManifest(emptySnapshot(), m, deps());
    expect(fetched).toEqual([]);
    expect(s.version).toBe(1);
    expect(served('small.txt').toString()).toBe('tiny');
    expect(served('empty.txt').length).toBe(0);
  });

  it('does not keep wrong inline content, and fetches the chunk instead', async () => {
    const a = file('a.txt', 'genuine');
    const b = file('b.txt', 'also ok');
    // Same length, other bytes; and a truncated copy.
    const wrongA = Buffer.from('GENUINE').toString('base64');
    const wrongB = Buffer.from('also o').toString('base64');
    const m = manifest(1, 0, [a, b], [put(a, wrongA), put(b, wrongB)], true);
    const s = await applyManifest(emptySnapshot(), m, deps());
    expect(fetched.sort()).toEqual([a.entry.chunks[0]!.hash, b.entry.chunks[0]!.hash].sort());
    expect(s.version).toBe(1);
    expect(served('a.txt').toString()).toBe('genuine');
    expect(served('b.txt').toString()).toBe('also ok');
    expect(store.chunks.get(a.entry.chunks[0]!.hash)!.toString()).toBe('genuine');
  });

  it('makes a chunk told as a patch of one it holds, without fetching it; a patch that does not fit is fetched whole', async () => {
    // Chunks of 8 bytes: each file below is one chunk.
    const a1 = file('a.txt', 'abcdefgh');
    const b1 = file('b.txt', 'stuvwxyz');
    const s1 = await applyManifest(
      emptySnapshot(),
      manifest(1, 0, [a1, b1], [put(a1), put(b1)], true),
      deps(),
    );
    const a2 = file('a.txt', 'abcXefgh');
    const b2 = file('b.txt', 'stuYwxyz');
    const patch = (f: File, base: File, head: number, data: string, tail: number) => ({
      hash: f.entry.hash,
      size: f.entry.size,
      base: base.entry.hash,
      head,
      tail,
      data: Buffer.from(data).toString('base64'),
    });
    const m = manifest(
      2,
      1,
      [a2, b2],
      [
        { ...put(a2), patches: [patch(a2, a1, 3, 'X', 4)] } as WireChange,
        // Makes other bytes than b2's: not kept, and b2's chunk fetched.
        { ...put(b2), patches: [patch(b2, b1, 3, 'Q', 4)] } as WireChange,
      ],
    );
    fetched = [];
    const s2 = await applyManifest(s1, m, deps());
    expect(fetched).toEqual([b2.entry.hash]);
    expect(s2.version).toBe(2);
    expect(served('a.txt').toString()).toBe('abcXefgh');
    expect(served('b.txt').toString()).toBe('stuYwxyz');
  });

  it('gives an ApplyError when a chunk cannot be fetched, and keeps the version held', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const c = file('c.txt', 'charlie is a long file');
    const target = [...first.files, c];
    const m = manifest(2, 1, target, [put(c)]);
    const failing = async (hash: string) => {
      throw new Error(`master answered 503 for chunk ${hash}`);
    };
    const err = await refused(applyManifest(s1, m, { store, fetchChunk: failing }), /master answered 503/);
    expect(err.name).toBe('ApplyError');
    expect(store.versions.current()).toEqual({ version: 1, root: first.m.root });
    expect(store.versions.get(2)).toBeUndefined();
    expect([...store.versions.liveTree().keys()].sort()).toEqual(['a.txt', 'dir/b.txt', 'dir/sub/empty.txt']);
    expect(held()).toMatchObject({ version: 1, root: first.m.root, files: 3, bytes: s1.bytes });

    // Once the master answers again, the same manifest applies.
    const s2 = await applyManifest(s1, m, deps());
    expect(s2.version).toBe(2);
    expect(served('c.txt').equals(c.content)).toBe(true);
  });

  it('keeps no batch-fetched chunk that does not hash to its address, and fetches it again alone', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    // One chunk of each file: the store must check the chunk itself, as nothing checks a
    // one-chunk file's bytes again.
    const c = file('c.txt', 'charlie');
    const d = file('d.txt', 'delta delta delta delta');
    const m = manifest(2, 1, [...first.files, c, d], [put(c), put(d)]);
    const bad = new Set([c.entry.chunks[0]!.hash, d.entry.chunks[1]!.hash]);
    const refusedByKeep: string[] = [];
    const fetchBatch = async (
      wanted: { hash: string; size: number }[],
      keep: (chunks: { hash: string; data: Buffer }[]) => string[],
    ) => {
      const sent = wanted.map(({ hash }) => {
        const data = Buffer.from(source.get(hash)!);
        if (bad.has(hash)) data[0] = data[0]! ^ 0xff;
        return { hash, data };
      });
      const refusedNow = keep(sent);
      refusedByKeep.push(...refusedNow);
      return { failed: refusedNow, absent: [] };
    };
    const s2 = await applyManifest(s1, m, { ...deps(), fetchBatch });
    expect(s2.version).toBe(2);
    expect(refusedByKeep.sort()).toEqual([...bad].sort());
    // Fetched again one by one, intact.
    expect(fetched.filter((h) => bad.has(h)).sort()).toEqual([...bad].sort());
    expect(served('c.txt').equals(c.content)).toBe(true);
    expect(served('d.txt').equals(d.content)).toBe(true);
  });

  it('asks no one by one for chunks the master said it does not have, and keeps the rest', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const c = file('c.txt', 'charlie');
    const d = file('d.txt', 'delta delta delta delta');
    const m = manifest(2, 1, [...first.files, c, d], [put(c), put(d)]);
    const gone = d.entry.chunks[1]!.hash;
    fetched.length = 0;
    const fetchBatch = async (
      wanted: { hash: string; size: number }[],
      keep: (chunks: { hash: string; data: Buffer }[]) => string[],
    ) => {
      const had = wanted.filter((w) => w.hash !== gone);
      const failed = keep(had.map(({ hash }) => ({ hash, data: source.get(hash)! })));
      return { failed, absent: wanted.length > had.length ? [gone] : [] };
    };
    await refused(
      applyManifest(s1, m, { ...deps(), fetchBatch }),
      new RegExp(`master has no chunk ${gone}: it no longer keeps this version`),
    );
    expect(fetched).toEqual([]);
    expect(store.versions.current().version).toBe(1);
    // What the master did send is kept: a later manifest needs only the rest.
    expect(store.chunks.has(c.entry.chunks[0]!.hash)).toBe(true);
    expect(store.chunks.has(gone)).toBe(false);
  });

  it('stops fetching at the first write the store refuses (a full disk), and fetches nothing one by one', async () => {
    // 64 KiB of noise in chunks of 8 bytes: 8,192 chunks, 16 batches of 512.
    const big = file('big.bin', randomBytes(64 * 1024));
    const m = manifest(1, 0, [big], [put(big)], true);
    // SQLite's own SQLITE_FULL, as on a full disk: the database may grow by a few pages only.
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 8}`);
    const batches: number[] = [];
    const fetchBatch = async (
      wanted: { hash: string; size: number }[],
      keep: (chunks: { hash: string; data: Buffer }[]) => string[],
    ) => {
      batches.push(wanted.length);
      await new Promise((r) => setImmediate(r));
      return { failed: keep(wanted.map(({ hash }) => ({ hash, data: source.get(hash)! }))), absent: [] };
    };
    await refused(applyManifest(emptySnapshot(), m, { ...deps(), fetchBatch }), /store refused.*full/);
    // The two batches in flight at most, and nothing fetched again chunk by chunk.
    expect(batches.length).toBeLessThanOrEqual(3);
    expect(fetched).toEqual([]);
    expect(store.versions.current().version).toBe(0);
  });

  it('refuses, before fetching a chunk, a version whose missing chunks do not fit the room left', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    fetched = [];
    // 3,000 bytes of noise, none of it held.
    const c = file('c.bin', randomBytes(3000));
    const m = manifest(2, 1, [...first.files, c], [put(c)]);
    const needs = c.content.length;
    const asked: number[] = [];
    const space = (free: number, reserve: number) => ({
      free: () => {
        asked.push(free);
        return free;
      },
      reserve,
      // A WAL already larger than the fetch, all of it in the database: no room needed for it.
      wal: () => ({ walBytes: 1 << 30, pendingBytes: 0, spareBytes: 0 }),
    });

    await refused(
      applyManifest(s1, m, { ...deps(), diskSpace: space(needs - 1, 0) }),
      /^not enough disk space: the chunks to fetch need 2\.9 KiB, and the store can grow by 2\.9 KiB$/,
    );
    // The space kept free counts against the room, and is named.
    await refused(
      applyManifest(s1, m, { ...deps(), diskSpace: space(needs + 100, 101) }),
      /need 2\.9 KiB, and the store can grow by 3\.0 KiB, of which 101 B is kept free \(--min-free-space\)$/,
    );
    expect(fetched).toEqual([]);
    expect(store.versions.current().version).toBe(1);

    // Exactly enough: fetched and committed.
    const s2 = await applyManifest(s1, m, { ...deps(), diskSpace: space(needs + 100, 100) });
    expect(s2.version).toBe(2);
    expect(served('c.bin').equals(c.content)).toBe(true);
    // A version that needs no chunk does not look at the disk at all.
    const calls = asked.length;
    const rename = { ...c, entry: { ...c.entry, path: 'moved.bin' } };
    const m3 = manifest(3, 2, [...first.files, rename], [del('c.bin'), put(rename)]);
    expect((await applyManifest(s2, m3, { ...deps(), diskSpace: space(0, 0) })).version).toBe(3);
    expect(asked.length).toBe(calls);
  });

  it('counts the WAL the chunks pass through: a version that fits only without it is refused', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    fetched = [];
    const c = file('c.bin', randomBytes(3000));
    const m = manifest(2, 1, [...first.files, c], [put(c)]);
    const needs = c.content.length;
    // Room for the bytes, not for the bytes and their WAL (none of which the WAL file holds yet).
    const space = (free: number, wal: number) => ({
      free: () => free,
      reserve: 0,
      wal: () => ({ walBytes: wal, pendingBytes: 0, spareBytes: 0 }),
    });
    await refused(
      applyManifest(s1, m, { ...deps(), diskSpace: space(2 * needs - 1, 0) }),
      /^not enough disk space: the chunks to fetch need 2\.9 KiB, and the store can grow by 5\.9 KiB, less 2\.9 KiB for SQLite's WAL as they are written$/,
    );
    // A WAL file half that size already is reused: only the rest counts.
    await refused(
      applyManifest(s1, m, { ...deps(), diskSpace: space(needs + needs / 2 - 1, needs / 2) }),
      /less 1\.5 KiB for SQLite's WAL/,
    );
    expect(fetched).toEqual([]);
    expect(store.versions.current().version).toBe(1);
    const s2 = await applyManifest(s1, m, { ...deps(), diskSpace: space(needs + needs / 2, needs / 2) });
    expect(s2.version).toBe(2);
    // Pages only the WAL holds still need their room in the database, and a margin is kept.
    const d = file('d.bin', randomBytes(3000));
    const m3 = manifest(3, 2, [...first.files, c, d], [put(d)]);
    const pending = {
      free: () => 3 * needs,
      reserve: 0,
      wal: () => ({ walBytes: 1 << 30, pendingBytes: 2 * needs, spareBytes: 1 }),
    };
    await refused(applyManifest(s2, m3, { ...deps(), diskSpace: pending }), /less 5\.9 KiB for SQLite's WAL/);
  });

  it('gives an ApplyError when fetched bytes do not hash to the file, and commits nothing', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const c = file('c.txt', 'charlie, seventeen');
    const m = manifest(2, 1, [...first.files, c], [put(c)]);
    const corrupt = async (hash: string, size: number) => {
      const data = Buffer.from(source.get(hash)!);
      data[size - 1] = data[size - 1]! ^ 0xff;
      return data;
    };
    await refused(
      applyManifest(s1, m, { store, fetchChunk: corrupt }),
      /chunk [0-9a-f]{64} failed verification/,
    );
    expect(store.versions.current()).toEqual({ version: 1, root: first.m.root });
    expect(store.versions.get(2)).toBeUndefined();
    // The bad bytes were not kept: a later try with an honest fetcher succeeds.
    const s2 = await applyManifest(s1, m, deps());
    expect(s2.version).toBe(2);
  });

  it('gives an ApplyError when the chunks of a file do not make its published hash', async () => {
    const real = file('report.txt', 'the real report');
    // The master says the file is other content (the root agrees, so only the content check can tell).
    const lying: File = { ...real, entry: { ...real.entry, hash: sha256Hex('some other report') } };
    await refused(
      applyManifest(emptySnapshot(), manifest(1, 0, [lying], [put(lying)], true), deps()),
      /report\.txt: content does not match its published hash/,
    );
    // A size that the chunks do not add up to.
    const tooBig: File = { ...real, entry: { ...real.entry, size: real.entry.size + 1 } };
    await refused(
      applyManifest(emptySnapshot(), manifest(1, 0, [tooBig], [put(tooBig)], true), deps()),
      /report\.txt: content does not match its published hash/,
    );
    expect(store.versions.current()).toEqual({ version: 0, root: EMPTY_ROOT });
    expect(store.versions.list()).toEqual([]);
    expect(store.versions.contentChunks(real.entry.hash)).toBeUndefined();
  });

  it('reuses content the store already holds under a new path', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    fetched = [];
    const copy = file('copy-of-a.txt', first.files[0]!.content);
    const s2 = await applyManifest(s1, manifest(2, 1, [...first.files, copy], [put(copy)]), {
      store,
      fetchChunk: async () => {
        throw new Error('nothing should be fetched');
      },
    });
    expect(s2.tree.get('copy-of-a.txt')).toEqual(copy.entry);
    expect(served('copy-of-a.txt').equals(first.files[0]!.content)).toBe(true);
  });

  it('gives an ApplyError when the store cannot take the version', async () => {
    const first = v1();
    const s1 = await applyManifest(emptySnapshot(), first.m, deps());
    const stale = makeSnapshot(1, s1.tree.values());
    // The store moved on to version 2 behind the stale snapshot's back.
    const c = file('c.txt', 'charlie');
    await applyManifest(s1, manifest(2, 1, [...first.files, c], [put(c)]), deps());
    const d = file('d.txt', 'delta');
    await refused(
      applyManifest(stale, manifest(2, 1, [...first.files, d], [put(d)]), deps()),
      /could not store version 2: version 2 is not newer than 2/,
    );
    expect(store.versions.liveTree().has('d.txt')).toBe(false);
    expect(store.versions.liveTree().has('c.txt')).toBe(true);
  });

  it('fetches no more than `concurrency` chunks at once', async () => {
    const big = file('big.bin', Buffer.from(Array.from({ length: 40 * CHUNK }, (_, i) => (i * 7) % 256)));
    let inFlight = 0;
    let most = 0;
    const slow = async (hash: string, size: number) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return fetchChunk(hash, size);
    };
    const m = manifest(1, 0, [big], [put(big)], true);
    await applyManifest(emptySnapshot(), m, { store, fetchChunk: slow, concurrency: 3 });
    expect(most).toBe(3);
    expect(new Set(fetched).size).toBe(fetched.length);
    expect(served('big.bin').equals(big.content)).toBe(true);
  });

  describe('a chunk-list delta', () => {
    const body = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?');
    const edited = Buffer.from(body);
    edited[30] = 0x5f;

    async function v1Held() {
      const a = file('big.bin', body);
      const s1 = await applyManifest(emptySnapshot(), manifest(1, 0, [a], [put(a)], true), deps());
      fetched = [];
      return { a, s1 };
    }

    const deltaPut = (from: File, to: File, baseDigest = chunkListDigest(from.entry.chunks)): WireChange => {
      const { path, size, hash, mtime } = to.entry;
      const edit = diffChunkLists(from.entry.chunks, to.entry.chunks);
      return {
        op: 'put',
        path,
        size,
        hash,
        mtime,
        chunks: [],
        delta: { base: from.entry.hash, baseDigest, ...edit },
      };
    };

    it('is resolved against the held list: only the changed chunk is fetched', async () => {
      const { a, s1 } = await v1Held();
      const b = file('big.bin', edited);
      const s2 = await applyManifest(s1, manifest(2, 1, [b], [deltaPut(a, b)]), deps());
      expect(s2.tree.get('big.bin')!.chunks).toEqual(b.entry.chunks);
      expect(fetched).toEqual([b.entry.chunks[3]!.hash]);
      expect(served('big.bin').equals(edited)).toBe(true);
    });

    it('whose base list differs from the held one is resolved by asking the master for the list', async () => {
      const { a, s1 } = await v1Held();
      const b = file('big.bin', edited);
      const asked: string[] = [];
      const fetchChunkList = async (hash: string) => {
        asked.push(hash);
        return b.entry.chunks;
      };
      const m = manifest(2, 1, [b], [deltaPut(a, b, sha256Hex('another chunking'))]);
      const s2 = await applyManifest(s1, m, { ...deps(), fetchChunkList });
      expect(asked).toEqual([b.entry.hash]);
      expect(served('big.bin').equals(edited)).toBe(true);
      expect(s2.version).toBe(2);
    });

    it('that cannot be resolved is an ApplyError, and a wrong list fails the content check', async () => {
      const { a, s1 } = await v1Held();
      const b = file('big.bin', edited);
      const bad = manifest(2, 1, [b], [deltaPut(a, b, sha256Hex('x'))]);
      await refused(applyManifest(s1, bad, deps()), /base of its chunk-list delta is not held/);
      const lying = async () => a.entry.chunks;
      await refused(
        applyManifest(s1, bad, { ...deps(), fetchChunkList: lying }),
        /does not match its published hash/,
      );
      expect(store.versions.current().version).toBe(1);
    });
  });
});
