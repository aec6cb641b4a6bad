import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChunkRef, sha256Hex, type TreeEntry } from '@outpost/core';
import { openStore, type Store, walFileBytes } from '@outpost/store';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptySnapshot } from '../serve/snapshot.js';
import type { ApplyDeps } from './apply-manifest.js';
import { fullManifest as full } from './full-manifest.test-helper.js';
import { Prefetcher } from './prefetcher.js';
import { SyncEngine } from './sync-engine.js';

let dir: string;
let store: Store;
/** The master's chunks, by address. */
let source: Map<string, Buffer>;
/** What the store can grow by, as the engine and prefetcher are told. */
let free: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-engine-full-'));
  store = openStore(join(dir, 'replica.sqlite'));
  source = new Map();
  free = 1024 ** 4;
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const log = pino({ level: 'silent' });
const diskSpace = { free: () => free, reserve: 0 };

const fetchBatch: NonNullable<ApplyDeps['fetchBatch']> = async (wanted, keep) => {
  const got = wanted.map((w) => ({ hash: w.hash, data: source.get(w.hash)! }));
  return { failed: keep(got), absent: [] };
};

/** A file of `n` chunks of noise, each 64 KiB (four 16 KiB pages). */
function file(path: string, n: number): TreeEntry {
  const chunks: ChunkRef[] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const data = randomBytes(64 * 1024);
    const hash = sha256Hex(data);
    source.set(hash, data);
    chunks.push({ hash, size: data.length });
    parts.push(data);
  }
  const all = Buffer.concat(parts);
  return { path, size: all.length, hash: sha256Hex(all), mtime: 1_700_000_000_000, chunks };
}

function engine(prefetch?: Prefetcher) {
  return new SyncEngine({
    store,
    log,
    initial: emptySnapshot(),
    fetchChunk: async (hash) => source.get(hash)!,
    fetchBatch,
    diskSpace,
    ...(prefetch ? { prefetch } : {}),
    onSwitch: () => {},
  });
}

const held = (entry: TreeEntry) => entry.chunks.filter((c) => store.chunks.has(c.hash)).length;

describe('SyncEngine on a full disk', () => {
  it('drops what was fetched ahead for a version refused for lack of room, and cuts the WAL down', async () => {
    const prefetch = new Prefetcher({ store, log, fetchBatch, diskSpace });
    prefetch.start();
    const e = engine(prefetch);
    const a = file('a.bin', 1);
    expect(await e.offer(full(1, [a]))).toMatchObject({ kind: 'applied', version: 1 });

    // The master reads a large file and tells half of it ahead; then the disk fills.
    const big = file('big.bin', 16);
    prefetch.offer(2, big.chunks.slice(0, 8));
    await expect.poll(() => prefetch.held).toBe(8);
    expect(walFileBytes(store.path)).toBeGreaterThan(0);
    free = 64 * 1024;

    const refused = await e.offer(full(2, [a, big]));
    expect(refused).toMatchObject({ kind: 'failed', version: 2 });
    expect((refused as { reason: string }).reason).toMatch(/^not enough disk space/);
    // Nothing of it is held any more, status no longer says it is fetched ahead, and the WAL
    // gives its room back.
    expect(held(big)).toBe(0);
    expect(prefetch.ahead).toBeNull();
    expect(walFileBytes(store.path)).toBe(0);
    expect(store.db.pragma('freelist_count', { simple: true })).toBeGreaterThan(0);

    // A later version that needs no new chunk is applied.
    const renamed = { ...a, path: 'b.bin' };
    expect(await e.offer(full(3, [renamed]))).toMatchObject({ kind: 'applied', version: 3 });
  });

  it('drops the chunks a version stored before the disk filled, so a later one that needs none fits', async () => {
    const e = engine();
    const a = file('a.bin', 1);
    expect(await e.offer(full(1, [a]))).toMatchObject({ kind: 'applied', version: 1 });
    // SQLite's own SQLITE_FULL, as on a full disk: the database may grow by 40 pages (640 KiB).
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 40}`);

    const big = file('big.bin', 32);
    const refused = await e.offer(full(2, [a, big]));
    expect(refused).toMatchObject({ kind: 'failed', version: 2 });
    expect((refused as { reason: string }).reason).toMatch(/database or disk is full/);
    expect(held(big)).toBe(0);
    expect(walFileBytes(store.path)).toBe(0);

    // Version 3 renames the small file and adds another small one: a few pages, which only
    // the pages version 2 filled can give.
    const c = file('c.bin', 2);
    const renamed = { ...a, path: 'b.bin' };
    expect(await e.offer(full(3, [renamed, c]))).toMatchObject({ kind: 'applied', version: 3 });
    expect(e.problem).toBeNull();
  });
});
