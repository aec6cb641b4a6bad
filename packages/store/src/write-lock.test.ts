import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Change, chunkBuffer, merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropUnusedChunkSteps, pruneSteps, sweepSteps } from './prune.js';
import { openStore, type Store } from './store.js';

// The master writes its store from more than one connection at once: the publisher's on the
// main thread, and the writer threads of a batch and of the large-file lane. A transaction
// begun deferred that reads before it writes (a commit looks at the current version first)
// takes no heed of busy_timeout when another connection holds the write lock, or committed
// since its first read: SQLite fails it at once with SQLITE_BUSY, "database is locked". Each
// write transaction of the store must wait for the lock instead.

let dir: string;
let store: Store;
let tree: Map<string, TreeEntry>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-write-lock-'));
  store = openStore(join(dir, 's.sqlite'));
  tree = new Map();
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Another connection, in a thread, holds the store's write lock for `ms` and writes a row
 * meanwhile; resolves once it holds the lock, with a promise of its commit.
 */
async function lockedByAnother(ms: number): Promise<{ released: Promise<void> }> {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.driver);
    const db = new Database(workerData.file);
    db.exec('BEGIN IMMEDIATE');
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('other', ?)").run(String(Date.now()));
    parentPort.postMessage('held');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
    db.exec('COMMIT');
    db.close();
    parentPort.postMessage('released');
    `,
    {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: store.path, ms },
    },
  );
  const released = new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'released' && resolve());
    worker.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'held' && resolve());
    worker.on('error', reject);
  });
  return { released };
}

/** Runs `fn` while another connection holds the write lock for `ms`: it must wait, not fail. */
async function underLock<T>(fn: () => T, ms = 50): Promise<T> {
  const { released } = await lockedByAnother(ms);
  const out = fn();
  await released;
  return out;
}

function file(path: string, content: string): TreeEntry {
  const data = Buffer.from(content);
  const chunks = chunkBuffer(data, 4).map((c) => {
    const hash = sha256Hex(c);
    store.chunks.put(hash, c);
    return { hash, size: c.length };
  });
  return { path, size: data.length, hash: sha256Hex(data), mtime: 1, chunks };
}

function commit(puts: TreeEntry[]): void {
  const changes = puts.map((entry): Change => ({ op: 'put', entry }));
  for (const p of puts) tree.set(p.path, p);
  const version = store.versions.current().version + 1;
  store.versions.commit({
    version,
    root: merkleRoot(tree.values()),
    createdAt: version,
    files: tree.size,
    bytes: 0,
    changes,
  });
}

describe('write transactions beside another connection holding the write lock', () => {
  it('a version commit waits for the lock, and cuts its version', async () => {
    const a = file('a.txt', 'aaaa-one');
    const started = Date.now();
    await underLock(() => commit([a]), 300);
    // It waited for the other connection's commit, and then cut its own.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(store.versions.current().version).toBe(1);
    expect(store.db.prepare("SELECT value FROM meta WHERE key = 'other'").pluck().get()).toBeDefined();
    // Once more with content already known: the commit's first statements are reads.
    await underLock(() => commit([{ ...a, path: 'b.txt' }]));
    expect(store.versions.current().version).toBe(2);
  });

  it('each step of a prune waits for the lock', async () => {
    commit([file('a.txt', 'aaaa-one'), file('b.txt', 'bbbb-one')]);
    commit([file('a.txt', 'aaaa-two'), file('b.txt', 'bbbb-two')]);
    commit([file('a.txt', 'aaaa-three')]);
    const steps = pruneSteps(store, { keepFrom: 3, batch: 1 });
    let s = await underLock(() => steps.next());
    let n = 1;
    while (!s.done) {
      s = await underLock(() => steps.next());
      n++;
    }
    expect(n).toBeGreaterThan(4);
    expect(s.value).toMatchObject({ versions: 2, contents: 3 });
  });

  it('dropping chunks no version names, and the sweep, wait for the lock', async () => {
    commit([file('a.txt', 'aaaa')]);
    const loose = file('loose.txt', 'zzzzyyyy').chunks.map((c) => c.hash);
    const drop = dropUnusedChunkSteps(store, loose, 1);
    let d = await underLock(() => drop.next());
    while (!d.done) d = await underLock(() => drop.next());
    expect(d.value).toBe(2);

    file('litter.txt', 'xxxxwwww');
    const sweep = sweepSteps(store, { batch: 1 });
    let s = await underLock(() => sweep.next());
    while (!s.done) s = await underLock(() => sweep.next());
    expect(s.value.chunks).toBe(2);
  });
});
