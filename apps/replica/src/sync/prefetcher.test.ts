import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChunkRef, sha256Hex } from '@outpost/core';
import { openStore, type Store } from '@outpost/store';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WantedChunk } from './chunk-fetcher.js';
import { Prefetcher, type PrefetcherOptions } from './prefetcher.js';

let dir: string;
let store: Store;
/** The master's chunks, by address. */
let source: Map<string, Buffer>;
/** Each request: the hashes asked for. */
let requests: string[][];
/** Requests answered once released (see hold). */
let held: (() => void)[] | null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-prefetch-'));
  store = openStore(join(dir, 'replica.db'));
  source = new Map();
  requests = [];
  held = null;
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function chunk(size = 1024): ChunkRef & { data: Buffer } {
  const data = randomBytes(size);
  const hash = sha256Hex(data);
  source.set(hash, data);
  return { hash, size, data };
}

const fetchBatch: PrefetcherOptions['fetchBatch'] = async (wanted: WantedChunk[], keep) => {
  requests.push(wanted.map((w) => w.hash));
  if (held) await new Promise<void>((resolve) => held!.push(resolve));
  const got = wanted.flatMap((w) => {
    const data = source.get(w.hash);
    return data ? [{ hash: w.hash, data }] : [];
  });
  return { failed: keep(got), absent: [] };
};

function prefetcher(o: Partial<PrefetcherOptions> = {}) {
  const p = new Prefetcher({ store, log: pino({ level: 'silent' }), fetchBatch, ...o });
  p.start();
  return p;
}

/** A version naming one file made of `chunks`. */
function commitVersion(version: number, chunks: ChunkRef[]) {
  const data = Buffer.concat(chunks.map((c) => source.get(c.hash)!));
  store.versions.commit({
    version,
    root: sha256Hex(Buffer.from(`root${version}`)),
    createdAt: Date.now(),
    files: 1,
    bytes: data.length,
    changes: [
      {
        op: 'put',
        entry: {
          path: `v${version}.bin`,
          size: data.length,
          hash: sha256Hex(data),
          mtime: 1,
          chunks: chunks.map(({ hash, size }) => ({ hash, size })),
        },
      },
    ],
  });
}

const until = async (cond: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Prefetcher', () => {
  it('fetches what it is told, verified, and only what the store lacks', async () => {
    const [a, b, c] = [chunk(), chunk(), chunk()];
    store.chunks.put(b.hash, b.data);
    // The master answers for `c` with other bytes: never stored.
    source.set(c.hash, randomBytes(c.size));
    const p = prefetcher();
    p.offer(2, [a, b, c]);
    await until(() => p.chunks === 1);
    await p.pause();
    expect(requests).toEqual([[a.hash, c.hash]]);
    expect(store.chunks.get(a.hash)).toEqual(a.data);
    expect(store.chunks.has(c.hash)).toBe(false);
    expect(p.chunks).toBe(1);
    expect(p.bytes).toBe(a.size);
  });

  it('asks nothing while paused, and waits for what is in flight before saying it has paused', async () => {
    const [a, b] = [chunk(), chunk()];
    held = [];
    const p = prefetcher({ concurrency: 1 });
    p.offer(2, [a]);
    await until(() => held!.length === 1);
    let paused = false;
    const pausing = p.pause().then(() => {
      paused = true;
    });
    p.offer(2, [b]);
    await new Promise((r) => setTimeout(r, 20));
    expect(paused).toBe(false);
    for (const release of held.splice(0)) release();
    held = null;
    await pausing;
    expect(store.chunks.has(a.hash)).toBe(true);
    expect(requests).toHaveLength(1);
    p.resume();
    await until(() => store.chunks.has(b.hash));
    expect(requests).toEqual([[a.hash], [b.hash]]);
  });

  it('drops, once their version is applied, the chunks it did not name; keeps those of later versions', async () => {
    const [used, unused, later] = [chunk(), chunk(), chunk()];
    const p = prefetcher();
    p.offer(2, [used, unused]);
    p.offer(3, [later]);
    await until(() => p.chunks === 3);
    await p.pause();
    commitVersion(2, [used]);
    await p.applied(2);
    p.resume();
    expect(store.chunks.has(used.hash)).toBe(true);
    expect(store.chunks.has(unused.hash)).toBe(false);
    expect(store.chunks.has(later.hash)).toBe(true);
    expect(p.dropped).toBe(1);
    expect(p.held).toBe(1);
    expect(p.ahead).toEqual({ version: 3, chunks: 1, bytes: later.size, queued: 0 });
    // Version 3 never comes; the next one applied settles it all the same.
    await p.applied(4);
    expect(store.chunks.has(later.hash)).toBe(false);
    expect(p.held).toBe(0);
    expect(p.ahead).toBeNull();
  });

  it('keeps past a version what the master says is for a later one: held, queued and in flight', async () => {
    // Told for 2 while a large file is read; an edit then takes version 2, and the file comes as 3.
    const [fetched, inFlight, queued, edit, other] = [chunk(), chunk(), chunk(), chunk(), chunk()];
    const p = prefetcher({ concurrency: 1 });
    p.offer(2, [fetched]);
    await until(() => p.chunks === 1);
    held = [];
    p.offer(2, [inFlight]);
    await until(() => held!.length === 1);
    p.offer(2, [queued]);
    // Told for an earlier version and never named: not the master's to move, but moved all the same (dropped at 3).
    p.later(2, 3);
    expect(p.ahead).toEqual({ version: 3, chunks: 1, bytes: fetched.size, queued: 1 });
    const pausing = p.pause();
    for (const release of held.splice(0)) release();
    held = null;
    await pausing;
    store.chunks.put(edit.hash, edit.data);
    commitVersion(2, [edit]);
    await p.applied(2);
    expect(store.chunks.has(fetched.hash)).toBe(true);
    expect(store.chunks.has(inFlight.hash)).toBe(true);
    expect(p.dropped).toBe(0);
    p.resume();
    await until(() => store.chunks.has(queued.hash));
    // The large file's version names them; what it does not name is dropped then.
    p.offer(3, [other]);
    await until(() => p.chunks === 4);
    await p.pause();
    commitVersion(3, [fetched, inFlight, queued]);
    await p.applied(3);
    expect(store.chunks.has(other.hash)).toBe(false);
    expect(p.dropped).toBe(1);
    expect(p.held).toBe(0);
    expect(requests.flat()).toEqual([fetched.hash, inFlight.hash, queued.hash, other.hash]);
  });

  it('without that word, drops at the version what was told for it (and the later version fetches it again)', async () => {
    const [a, edit] = [chunk(), chunk()];
    const p = prefetcher();
    p.offer(2, [a]);
    await until(() => p.chunks === 1);
    await p.pause();
    store.chunks.put(edit.hash, edit.data);
    commitVersion(2, [edit]);
    await p.applied(2);
    expect(store.chunks.has(a.hash)).toBe(false);
    expect(p.dropped).toBe(1);
  });

  it('forgets what was told for a version applied before it was fetched', async () => {
    const [a, b] = [chunk(), chunk()];
    const p = prefetcher();
    await p.pause();
    p.offer(2, [a]);
    p.offer(3, [b]);
    await p.applied(2);
    p.resume();
    await until(() => p.chunks === 1);
    await p.pause();
    expect(requests).toEqual([[b.hash]]);
  });

  it('at a stop, drops every chunk fetched ahead that no version names, and stores nothing more', async () => {
    const [a, b, c] = [chunk(), chunk(), chunk()];
    const p = prefetcher({ concurrency: 1 });
    p.offer(5, [a, b]);
    await until(() => p.chunks === 2);
    commitVersion(1, [a]);
    held = [];
    p.offer(5, [c]);
    await until(() => held!.length === 1);
    // Not waiting for the request in flight: a master gone quiet must not hold a stop.
    p.discard();
    expect(store.chunks.has(a.hash)).toBe(true);
    expect(store.chunks.has(b.hash)).toBe(false);
    for (const release of held.splice(0)) release();
    await new Promise((r) => setTimeout(r, 20));
    expect(store.chunks.has(c.hash)).toBe(false);
    p.offer(6, [chunk()]);
    await new Promise((r) => setTimeout(r, 20));
    expect(requests).toHaveLength(2);
  });

  it('fetches nothing ahead that would leave less than the reserve free, until a version is applied', async () => {
    const [a, b] = [chunk(4096), chunk(4096)];
    let free = 4096 + 1000;
    // A WAL already larger than the batch, all of it in the database: no room needed for it.
    const wal = () => ({ walBytes: 1 << 30, pendingBytes: 0, spareBytes: 0 });
    const p = prefetcher({ diskSpace: { free: () => free, reserve: 1000, wal }, concurrency: 1 });
    p.offer(2, [a]);
    await until(() => p.chunks === 1);
    free = 4096;
    p.offer(2, [b]);
    await new Promise((r) => setTimeout(r, 20));
    expect(requests).toHaveLength(1);
    expect(store.chunks.has(b.hash)).toBe(false);
    free = 1 << 30;
    await p.applied(1);
    p.offer(3, [b]);
    await until(() => store.chunks.has(b.hash));
  });

  it("counts the room SQLite's WAL takes: what it has yet to copy into the database, and what the chunks add", async () => {
    const a = chunk(4096);
    let wal = { walBytes: 0, pendingBytes: 0, spareBytes: 0 };
    const p = prefetcher({
      diskSpace: { free: () => 8192 + 100, reserve: 0, wal: () => wal },
      concurrency: 1,
    });
    // The bytes and their way through the WAL fit; with the last version still in the WAL they do not.
    wal = { walBytes: 0, pendingBytes: 200, spareBytes: 0 };
    p.offer(2, [a]);
    await new Promise((r) => setTimeout(r, 20));
    expect(requests).toHaveLength(0);
    wal = { walBytes: 0, pendingBytes: 0, spareBytes: 0 };
    await p.applied(1);
    p.offer(3, [a]);
    await until(() => store.chunks.has(a.hash));
  });
});
