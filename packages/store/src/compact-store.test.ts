import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Change, chunkBuffer, merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactCopyPath } from './compact-copy-path.js';
import { CompactRoomError, compactRoomNeeded, compactStore } from './compact-store.js';
import { walFileBytes } from './free-space.js';
import { prune } from './prune.js';
import { openStore, type Store } from './store.js';
import { lockStore, openLockedStore, StoreInUseError } from './store-lock.js';
import { isClean, verifyStore } from './verify-store.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-compact-'));
  file = join(dir, 'replica.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A store whose first version held `mib` MiB of files and whose second, kept alone, holds one small file. */
function storeWithCollectedVersion(mib: number): { tree: Map<string, TreeEntry> } {
  const store = openStore(file);
  const files: TreeEntry[] = [];
  for (let i = 0; i < mib * 4; i++) files.push(put(store, `big/${i}.bin`, randomBytes(256 * 1024)));
  commit(store, 1, files);
  const small = put(store, 'small.txt', Buffer.from('what is left'));
  const changes: Change[] = [
    ...files.map((f): Change => ({ op: 'delete', path: f.path })),
    { op: 'put', entry: small },
  ];
  commit(store, 2, [small], changes);
  prune(store, { keepFrom: 2 });
  const tree = store.versions.treeAt(2)!;
  store.close();
  return { tree };
}

function put(store: Store, path: string, data: Buffer): TreeEntry {
  const chunks = chunkBuffer(data, 64 * 1024).map((c) => {
    const hash = sha256Hex(c);
    store.chunks.put(hash, c);
    return { hash, size: c.length };
  });
  return { path, size: data.length, hash: sha256Hex(data), mtime: 1, chunks };
}

function commit(store: Store, version: number, tree: TreeEntry[], changes?: Change[]) {
  store.versions.commit({
    version,
    root: merkleRoot(tree),
    createdAt: version * 1000,
    files: tree.length,
    bytes: tree.reduce((n, e) => n + e.size, 0),
    changes: changes ?? tree.map((entry): Change => ({ op: 'put', entry })),
  });
}

describe('compactStore', () => {
  it('gives back what collected versions left, the kept version whole', () => {
    const { tree } = storeWithCollectedVersion(8);
    const before = statSync(file).size + walFileBytes(file);
    expect(before).toBeGreaterThan(8 * 1024 * 1024);

    const r = compactStore(file);
    expect(r.compacted).toBe(true);
    expect(r.bytesBefore).toBeGreaterThanOrEqual(before);
    expect(r.freePages).toBeGreaterThan(400);
    expect(r.bytesAfter).toBeLessThan(1024 * 1024);
    expect(statSync(file).size).toBe(r.bytesAfter);
    // Nothing but the store and its lock is left beside it: no copy, no journal, no WAL.
    expect(readdirSync(dir).sort()).toEqual(['replica.sqlite', 'replica.sqlite.lock']);

    const store = openStore(file);
    try {
      expect(store.versions.current().version).toBe(2);
      expect(store.versions.treeAt(2)).toEqual(tree);
      expect(isClean(verifyStore(store))).toBe(true);
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      store.close();
    }
  });

  it('leaves a store with no free pages as it was', () => {
    storeWithCollectedVersion(1);
    expect(compactStore(file).compacted).toBe(true);
    const ino = statSync(file).ino;
    const r = compactStore(file);
    expect(r.compacted).toBe(false);
    expect(r.freePages).toBe(0);
    expect(statSync(file).ino).toBe(ino);
  });

  it('is refused while a service holds the store, which is left as it was', () => {
    storeWithCollectedVersion(2);
    const size = statSync(file).size;
    const lock = lockStore(file, 'replica');
    try {
      expect(() => compactStore(file)).toThrow(StoreInUseError);
      expect(() => compactStore(file)).toThrow(/held by a running outpost service: stop it first/);
    } finally {
      lock.release();
    }
    expect(statSync(file).size).toBe(size);
  });

  it('is refused, before writing anything, on a volume without room for the copy', () => {
    storeWithCollectedVersion(2);
    const size = statSync(file).size;
    expect(() => compactStore(file, { volumeFree: () => 64 * 1024 })).toThrow(CompactRoomError);
    expect(() => compactStore(file, { volumeFree: () => 64 * 1024 })).toThrow(
      /needs \d+ bytes free on its volume; 65536 are/,
    );
    expect(statSync(file).size).toBe(size);
    expect(readdirSync(dir).sort()).toEqual(['replica.sqlite', 'replica.sqlite.lock']);
  });

  it('counts a page in a hundred and a margin beside the live pages', () => {
    expect(compactRoomNeeded(100, 16384)).toBe(101 * 16384 + 1024 * 1024);
  });

  it('clears the copy a compaction cut short left, at its next run and at a service start', () => {
    storeWithCollectedVersion(1);
    writeFileSync(compactCopyPath(file), 'a copy cut short');
    compactStore(file);
    expect(readdirSync(dir)).not.toContain('replica.sqlite.compact-tmp');

    writeFileSync(compactCopyPath(file), 'a copy cut short');
    const store = openLockedStore(file, 'replica');
    store.close();
    store.lock.release();
    expect(readdirSync(dir)).not.toContain('replica.sqlite.compact-tmp');
  });
});
