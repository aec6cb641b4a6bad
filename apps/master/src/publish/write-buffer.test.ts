import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { BackgroundWriter, openStore, type ScanRecord, type Store } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WriteBuffer } from './write-buffer.js';

let dir: string;
let store: Store;
let buffer: WriteBuffer;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-wbuf-'));
  store = openStore(join(dir, 'store.db'));
  buffer = new WriteBuffer(store);
});

afterEach(async () => {
  await buffer.close().catch(() => {});
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Puts `mib` MiB of fresh 256 KiB chunks; returns their hashes. */
function putMiB(mib: number): string[] {
  const hashes: string[] = [];
  for (let i = 0; i < mib * 4; i++) {
    const data = randomBytes(256 * 1024);
    const hash = sha256Hex(data);
    buffer.put(hash, data);
    hashes.push(hash);
  }
  return hashes;
}

const record = (path: string): ScanRecord => ({
  path,
  size: 1,
  mtimeMs: 1_700_000_000_000,
  ino: 7,
  hash: sha256Hex(path),
  scannedAt: 1_700_000_000_001,
});

describe('WriteBuffer', () => {
  it('tells the chunks put through `ahead` once committed, while more is read; not those drain commits', async () => {
    const told: string[][] = [];
    const visible: boolean[] = [];
    let firstTold!: () => void;
    const toldOnce = new Promise<void>((resolve) => {
      firstTold = resolve;
    });
    const ahead = new WriteBuffer(store, {
      onStoredAhead: (chunks) => {
        told.push(chunks.map((c) => c.hash));
        // Told only once readable from the store.
        visible.push(chunks.every((c) => store.chunks.has(c.hash)));
        firstTold();
      },
    });
    try {
      const put = (mib: number, sink: { put(hash: string, data: Buffer): void }) =>
        Array.from({ length: mib * 4 }, () => {
          const data = randomBytes(256 * 1024);
          const hash = sha256Hex(data);
          sink.put(hash, data);
          return hash;
        });
      const first = put(8, ahead.ahead);
      // An edited file's chunks (put directly) are stored, never told.
      const edited = put(1, ahead);
      const second = put(7, ahead.ahead);
      await toldOnce;
      expect(told[0]).toEqual(first);
      const last = put(1, ahead.ahead);
      await ahead.drain();
      expect(told.flat()).not.toContain(last[0]);
      expect(told.flat()).not.toContain(edited[0]);
      expect(told.flat()).toEqual(expect.arrayContaining(first));
      expect(visible.every(Boolean)).toBe(true);
      for (const h of [...first, ...edited, ...second, ...last]) expect(store.chunks.has(h)).toBe(true);
    } finally {
      await ahead.close();
    }
  });

  it('writes a small change on the calling thread, at drain', async () => {
    const [hash] = putMiB(0.25);
    buffer.scanned(record('a.txt'));
    expect(store.chunks.has(hash!)).toBe(false);
    await buffer.drain();
    expect(store.chunks.has(hash!)).toBe(true);
    expect(store.scanIndex.get('a.txt')).toEqual(record('a.txt'));
    expect(buffer.backgroundBatches).toBe(0);
  });

  it('hands full batches to the writer thread; lookups see them until they land', async () => {
    buffer.scanned(record('big.bin'));
    const hashes = putMiB(9);
    // The batch went to the thread with its scan record, which lookups still find.
    expect(buffer.queued('big.bin')).toEqual(record('big.bin'));
    buffer.forget('big.bin');
    expect(buffer.queued('big.bin')).toBeNull();
    await buffer.drain();
    expect(buffer.backgroundBatches).toBeGreaterThanOrEqual(1);
    for (const h of hashes) expect(store.chunks.has(h)).toBe(true);
    // The later forget was written after the put: batches land in order.
    expect(store.scanIndex.get('big.bin')).toBeUndefined();
    expect(buffer.queued('big.bin')).toBeUndefined();
  });

  it('holds readers back while too much is in flight', async () => {
    const first = putMiB(8)[0]!;
    putMiB(40);
    await buffer.room();
    // Room is made by batches landing, oldest first.
    expect(store.chunks.has(first)).toBe(true);
    await buffer.drain();
  });

  it('reports a batch the store refused at the next drain, once', async () => {
    store.db.exec(
      `CREATE TRIGGER refuse BEFORE INSERT ON chunks WHEN NEW.size = 262144
       BEGIN SELECT RAISE(ABORT, 'disk says no'); END`,
    );
    putMiB(9);
    await expect(buffer.drain()).rejects.toThrow(/disk says no/);
    await expect(buffer.drain()).resolves.toBeUndefined();
  });

  it('writes on the calling thread from then on when the writer thread cannot run', async () => {
    await buffer.close();
    buffer = new WriteBuffer(store, {
      startWriter: (file) => new BackgroundWriter(file, { driver: join(dir, 'no-such-driver.js') }),
    });
    putMiB(9);
    await expect(buffer.drain()).rejects.toThrow(/no-such-driver/);
    const hashes = putMiB(9);
    await buffer.drain();
    for (const h of hashes) expect(store.chunks.has(h)).toBe(true);
    expect(buffer.backgroundBatches).toBe(0);
  });

  it('writes on the calling thread when no writer thread can be started at all', async () => {
    await buffer.close();
    buffer = new WriteBuffer(store, {
      startWriter: () => {
        throw new Error('no threads left');
      },
    });
    const hashes = putMiB(9);
    await buffer.drain();
    for (const h of hashes) expect(store.chunks.has(h)).toBe(true);
    expect(buffer.backgroundBatches).toBe(0);
  });
});
