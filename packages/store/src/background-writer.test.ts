import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackgroundWriter } from './background-writer.js';
import type { ScanRecord } from './scan-index.js';
import { openStore, type Store } from './store.js';

let dir: string;
let store: Store;
let writer: BackgroundWriter | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-bgw-'));
  store = openStore(join(dir, 'store.db'));
});

afterEach(async () => {
  await writer?.close();
  writer = undefined;
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

const chunk = (text: string) => {
  const data = Buffer.from(text);
  return { hash: sha256Hex(data), data };
};

const record = (path: string): ScanRecord => ({
  path,
  size: 5,
  mtimeMs: 1_700_000_000_123.456,
  ino: 42,
  hash: sha256Hex(path),
  scannedAt: 1_700_000_000_999.5,
});

describe('BackgroundWriter', () => {
  it('commits chunks and scan records from its own thread, visible to the main connection', async () => {
    writer = new BackgroundWriter(store.path);
    // Views into one shared buffer, as a file's chunks are: each must be stored as its own bytes.
    const shared = Buffer.from('aaaaabbbbbccccc');
    const chunks = [0, 5, 10].map((at) => {
      const data = shared.subarray(at, at + 5);
      return { hash: sha256Hex(data), data };
    });
    store.scanIndex.put(record('gone.txt'));
    await writer.write({
      chunks,
      scans: new Map([
        ['a.txt', record('a.txt')],
        ['gone.txt', null],
      ]),
    });
    for (const c of chunks) expect(store.chunks.get(c.hash)).toEqual(c.data);
    expect(store.scanIndex.get('a.txt')).toEqual(record('a.txt'));
    expect(store.scanIndex.get('gone.txt')).toBeUndefined();
    expect(writer.batches).toBe(1);
  });

  it('writes batches in the order given, a chunk stored once', async () => {
    writer = new BackgroundWriter(store.path);
    const a = chunk('one');
    const b = chunk('two');
    await Promise.all([writer.write({ chunks: [a] }), writer.write({ chunks: [a, b] })]);
    const n = store.db.prepare('SELECT count(*) FROM chunks').pluck().get();
    expect(n).toBe(2);
    expect(writer.batches).toBe(2);
  });

  it('stores each chunk as its own bytes when a buffer is filled again', async () => {
    writer = new BackgroundWriter(store.path);
    const first = Array.from({ length: 40 }, (_, i) => chunk(`${i}`.padStart(256 * 1024, 'x')));
    await writer.write({ chunks: first });
    // The same buffer comes back and carries the next, smaller batch: no bytes of the last one.
    const second = [chunk('short'), chunk('and shorter')];
    await writer.write({ chunks: second });
    for (const c of [...first, ...second]) expect(store.chunks.get(c.hash)?.equals(c.data)).toBe(true);
  });

  it('rejects a batch the store refuses, and keeps writing the next', async () => {
    writer = new BackgroundWriter(store.path);
    store.db.exec(
      `CREATE TRIGGER refuse BEFORE INSERT ON chunks WHEN NEW.size = 3
       BEGIN SELECT RAISE(ABORT, 'no three-byte chunks'); END`,
    );
    const refused = chunk('bad');
    const kept = chunk('fine!');
    await expect(writer.write({ chunks: [kept, refused] })).rejects.toThrow(/no three-byte chunks/);
    // The refused batch's transaction rolled back as a whole.
    expect(store.chunks.has(kept.hash)).toBe(false);
    await writer.write({ chunks: [kept] });
    expect(store.chunks.has(kept.hash)).toBe(true);
  });

  it('refuses writes once closed', async () => {
    writer = new BackgroundWriter(store.path);
    await writer.close();
    await expect(writer.write({ chunks: [chunk('late')] })).rejects.toThrow(/closed/);
  });

  it('fails its batches, and closes, when the thread cannot start', async () => {
    writer = new BackgroundWriter(store.path, { driver: join(dir, 'no-such-driver.js') });
    await expect(writer.write({ chunks: [chunk('lost')] })).rejects.toThrow(/no-such-driver/);
    expect(writer.broken?.message).toMatch(/no-such-driver/);
    await expect(writer.write({ chunks: [chunk('later')] })).rejects.toThrow(/no-such-driver/);
    await writer.close();
  });
});
