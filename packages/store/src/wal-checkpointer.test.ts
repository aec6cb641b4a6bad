import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore, type Store } from './store.js';
import { WalCheckpointer } from './wal-checkpointer.js';

let dir: string;
let store: Store;
let checkpointer: WalCheckpointer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-ckpt-'));
  store = openStore(join(dir, 'store.db'));
});

afterEach(async () => {
  await checkpointer?.close();
  checkpointer = undefined;
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `n` distinct 64 KiB chunks. */
function chunks(n: number, label: string) {
  return Array.from({ length: n }, (_, i) => {
    const data = Buffer.alloc(64 * 1024, `${label}:${i}:`);
    return { hash: sha256Hex(data), data };
  });
}

const dbBytes = () => statSync(store.path).size;
const walBytes = () => statSync(`${store.path}-wal`).size;

/** Polls until the assertion holds (vitest's own wait, with a deadline). */
const until = (assertion: () => void) => vi.waitFor(assertion, { timeout: 10_000, interval: 10 });

describe('WalCheckpointer', () => {
  it('leaves commits to append to the WAL and copies them to the database from its thread', async () => {
    // Its first look comes well after the writes below (about 0.1 s), which must not checkpoint.
    checkpointer = new WalCheckpointer(store, { intervalMs: 2000 });
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = dbBytes();
    // 32 MiB: past SQLite's own threshold (1000 pages of 16 KiB), where a commit would
    // otherwise have checkpointed inline and grown the database file before returning.
    for (let i = 0; i < 8; i++) store.chunks.putMany(chunks(64, `batch${i}`));
    expect(dbBytes() - before).toBeLessThan(1024 * 1024);
    await until(() => expect(dbBytes() - before).toBeGreaterThan(32 * 1024 * 1024));
    await until(() => expect(checkpointer!.checkpoints).toBeGreaterThan(0));
    expect(checkpointer.broken).toBeUndefined();
  });

  it('keeps the WAL under its cap when the writer waits for room', async () => {
    checkpointer = new WalCheckpointer(store, { capBytes: 4 * 1024 * 1024 });
    let peak = 0;
    // 24 MiB in groups of 1 MiB, the writer never pausing but where room() asks it to.
    for (let g = 0; g < 24; g++) {
      await checkpointer.room();
      checkpointer.wrote(1024 * 1024);
      store.chunks.putMany(chunks(16, `group${g}`));
      peak = Math.max(peak, walBytes());
    }
    expect(checkpointer.waits).toBeGreaterThanOrEqual(4);
    // The cap, the group that crossed it, and SQLite's pages beside the chunks.
    expect(peak).toBeLessThan(7 * 1024 * 1024);
  });

  it('lets the writer go on after maxWaitMs when a reader holds the WAL', async () => {
    checkpointer = new WalCheckpointer(store, { capBytes: 1024 * 1024, maxWaitMs: 300 });
    store.chunks.putMany(chunks(4, 'before'));
    // A read transaction on another connection pins the frames written after it began.
    const reader = new Database(store.path, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM sqlite_master').get();
    try {
      checkpointer.wrote(2 * 1024 * 1024);
      store.chunks.putMany(chunks(32, 'pinned'));
      const t0 = performance.now();
      await checkpointer.room();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      expect(checkpointer.waits).toBe(1);
      // The count starts again: the next group goes on without a wait.
      expect(checkpointer.room()).toBeUndefined();
    } finally {
      reader.prepare('COMMIT').run();
      reader.close();
    }
  });

  it('without it, a commit past the threshold checkpoints inline', () => {
    const before = dbBytes();
    for (let i = 0; i < 8; i++) store.chunks.putMany(chunks(64, `batch${i}`));
    expect(dbBytes() - before).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('gives checkpoints back to the main connection when its thread cannot run, and at close', async () => {
    checkpointer = new WalCheckpointer(store, { driver: join(dir, 'no-such-driver.js') });
    await until(() => expect(checkpointer!.broken).toBeDefined());
    expect(checkpointer.broken?.message).toMatch(/checkpointer/);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);

    await checkpointer.close();
    const healthy = new WalCheckpointer(store);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    await healthy.close();
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });
});
