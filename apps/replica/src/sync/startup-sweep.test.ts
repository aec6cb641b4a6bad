import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import { openStore, prune, type Store } from '@outpost/store';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StartupSweep } from './startup-sweep.js';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-startup-sweep-'));
  store = openStore(join(dir, 'replica.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function entry(path: string, body: Buffer): TreeEntry & { chunks: { hash: string; size: number }[] } {
  const hash = sha256Hex(body);
  store.chunks.put(hash, body);
  return { path, size: body.length, hash, mtime: 1_700_000_000_000, chunks: [{ hash, size: body.length }] };
}

/**
 * A store as a replica killed with -9 leaves it and catches up as it starts: version 1 held
 * big.bin, version 2 deleted it, and the prune after the switch to 2 spared big.bin's content
 * (a reader was streaming it): named by no version, still stored. And a chunk of a fetch cut
 * short. No clean-stop mark.
 */
function seed(big: Buffer, litter: Buffer): void {
  const index = entry('index.html', Buffer.from('<h1>held</h1>'));
  const bigEntry = entry('big.bin', big);
  store.versions.commit({
    version: 1,
    root: merkleRoot([bigEntry, index]),
    createdAt: Date.now(),
    files: 2,
    bytes: index.size + big.length,
    changes: [
      { op: 'put', entry: index },
      { op: 'put', entry: bigEntry },
    ],
  });
  store.versions.commit({
    version: 2,
    root: merkleRoot([index]),
    createdAt: Date.now(),
    files: 1,
    bytes: index.size,
    changes: [{ op: 'delete', path: 'big.bin' }],
  });
  const pruned = prune(store, { keepFrom: 2, protect: new Set([bigEntry.hash]) });
  expect(pruned.deferred).toEqual([bigEntry.hash]);
  store.chunks.put(sha256Hex(litter), litter);
}

async function sweep(inUse?: Set<string>): Promise<void> {
  let done = false;
  const s = new StartupSweep({
    store,
    log: pino({ level: 'silent' }),
    exclusive: (job) => job(),
    trouble: () => undefined,
    done: () => {
      done = true;
    },
    ...(inUse ? { inUse } : {}),
  });
  s.start();
  s.release();
  await s.running;
  expect(done).toBe(true);
}

describe('StartupSweep', () => {
  it('leaves the content a reader is still streaming, and sweeps the rest', async () => {
    const big = Buffer.from('a body a reader is half-way through');
    const litter = Buffer.from('a chunk of a fetch cut short');
    seed(big, litter);
    // The reader is still at it: its body's chunks must stay until it is done.
    await sweep(new Set([sha256Hex(big)]));
    expect(store.chunks.has(sha256Hex(litter))).toBe(false);
    expect(store.chunks.has(sha256Hex(big))).toBe(true);
    // The next prune is handed the spared content, and collects it once nobody reads it.
    prune(store, { keepFrom: 2, retry: [sha256Hex(big)] });
    expect(store.chunks.has(sha256Hex(big))).toBe(false);
  });

  it('sweeps that content when nobody reads it', async () => {
    const big = Buffer.from('a body nobody reads');
    seed(big, Buffer.from('litter'));
    await sweep(new Set());
    expect(store.chunks.has(sha256Hex(big))).toBe(false);
  });
});
