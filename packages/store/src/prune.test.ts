import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Change, chunkBuffer, merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prune, sweepSteps } from './prune.js';
import { openStore, type Store } from './store.js';
import { isClean, verifyStore } from './verify-store.js';

let dir: string;
let store: Store;
let tree: Map<string, TreeEntry>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-prune-'));
  store = openStore(join(dir, 's.sqlite'));
  tree = new Map();
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Stores a file's chunks and returns its entry. */
function file(path: string, content: string | Buffer): TreeEntry {
  const data = Buffer.from(content);
  const chunks = chunkBuffer(data, 4).map((c) => {
    const hash = sha256Hex(c);
    store.chunks.put(hash, c);
    return { hash, size: c.length };
  });
  return { path, size: data.length, hash: sha256Hex(data), mtime: 1, chunks };
}

/** Commits the next version with the given puts and deletes. */
function commit(puts: TreeEntry[], deletes: string[] = []): number {
  const changes: Change[] = [
    ...deletes.map((path): Change => ({ op: 'delete', path })),
    ...puts.map((entry): Change => ({ op: 'put', entry })),
  ];
  for (const d of deletes) tree.delete(d);
  for (const p of puts) tree.set(p.path, p);
  const version = store.versions.current().version + 1;
  let bytes = 0;
  for (const e of tree.values()) bytes += e.size;
  store.versions.commit({
    version,
    root: merkleRoot(tree.values()),
    createdAt: version * 1000,
    files: tree.size,
    bytes,
    changes,
  });
  return version;
}

describe('prune', () => {
  it('drops old versions and exactly what only they needed', () => {
    commit([file('a.txt', 'aaaa-one'), file('shared.txt', 'same-bytes')]);
    commit([file('a.txt', 'aaaa-two'), file('gone.txt', 'only-in-two')]);
    commit([file('b.txt', 'same-bytes')], ['gone.txt']);
    const v4 = commit([file('a.txt', 'aaaa-four')]);
    const v5 = commit([file('c.txt', 'cccc')]);
    const before = { four: store.versions.treeAt(v4), five: store.versions.treeAt(v5) };

    const stats = prune(store, { keepFrom: v4, batch: 2 });
    expect(store.versions.list().map((v) => v.version)).toEqual([5, 4]);
    expect(stats.versions).toBe(3);
    // a.txt one and two, gone.txt: their contents and the chunks only they had.
    expect(stats.contents).toBe(3);
    expect(store.versions.contentChunks(sha256Hex('aaaa-one'))).toBeUndefined();
    expect(store.versions.contentChunks(sha256Hex('only-in-two'))).toBeUndefined();
    expect(store.chunks.has(sha256Hex('-one'))).toBe(false);
    // Still needed: the shared bytes (now b.txt and shared.txt), and 'aaaa' is a chunk of a.txt four.
    expect(store.chunks.has(sha256Hex('aaaa'))).toBe(true);
    expect(store.versions.contentChunks(sha256Hex('same-bytes'))).toBeDefined();
    expect(store.versions.treeAt(v4)).toEqual(before.four);
    expect(store.versions.treeAt(v5)).toEqual(before.five);
    expect(store.versions.treeAt(2)).toBeUndefined();
    expect(isClean(verifyStore(store))).toBe(true);
    // Nothing left to do: a second prune removes nothing.
    expect(prune(store, { keepFrom: v4 })).toMatchObject({ versions: 0, entries: 0, contents: 0, chunks: 0 });
  });

  it('spares protected contents and hands them back to be looked at again', () => {
    commit([file('big.bin', 'streamed-bytes')]);
    const v2 = commit([file('big.bin', 'new-bytes!')]);
    const streamed = sha256Hex('streamed-bytes');
    const first = prune(store, { keepFrom: v2, protect: new Set([streamed]) });
    expect(first.deferred).toEqual([streamed]);
    expect(store.versions.contentChunks(streamed)).toBeDefined();
    const second = prune(store, { keepFrom: v2, retry: first.deferred });
    expect(second.contents).toBe(1);
    expect(store.versions.contentChunks(streamed)).toBeUndefined();
    expect(isClean(verifyStore(store))).toBe(true);
  });

  it('finds the floor of a retention policy', () => {
    for (let i = 1; i <= 6; i++) commit([file('x.txt', `x${i}`)]);
    expect(store.versions.retentionFloor(3)).toBe(4);
    expect(store.versions.retentionFloor(100)).toBe(1);
    // Created at version * 1000 ms: everything from 2000 on is "recent".
    expect(store.versions.retentionFloor(2, 2000)).toBe(2);
    expect(store.versions.retentionFloor(2, 99_000)).toBe(5);
  });

  it('sweeps contents and chunks nothing refers to (what a crash leaves), and nothing else', () => {
    commit([file('live.txt', 'live-bytes')]);
    // Chunks stored for a version that was never committed, and a content row no entry names.
    file('orphan.txt', 'orphan-bytes');
    store.db
      .prepare('INSERT INTO contents (hash, size, chunk_count) VALUES (?, 0, 0)')
      .run(sha256Hex('nobody'));
    const steps = sweepSteps(store, { batch: 2 });
    let r = steps.next();
    while (!r.done) r = steps.next();
    expect(r.value.contents).toBe(1);
    expect(r.value.chunks).toBe(3);
    expect(store.chunks.has(sha256Hex('orph'))).toBe(false);
    expect(store.chunks.has(sha256Hex('live'))).toBe(true);
    expect(isClean(verifyStore(store))).toBe(true);
  });
});
