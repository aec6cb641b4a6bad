import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scrubber } from './scrubber.js';
import { openStore, type Store } from './store.js';

const CHUNK = 64 * 1024;
let dir: string;
let store: Store;
let repaired: string[];

beforeEach(() => {
  vi.useFakeTimers();
  dir = mkdtempSync(join(tmpdir(), 'outpost-scrub-'));
  store = openStore(join(dir, 'replica.db'));
  repaired = [];
});

afterEach(() => {
  vi.useRealTimers();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Stores `n` chunks of 64 KiB; returns their hashes in the order stored. */
function fill(n: number): string[] {
  const chunks = Array.from({ length: n }, (_, i) => {
    const data = Buffer.alloc(CHUNK, i + 1);
    return { hash: sha256Hex(data), data };
  });
  store.chunks.putMany(chunks);
  return chunks.map((c) => c.hash);
}

function scrubber(bytesPerSecond: number, tickMs = 20) {
  const repair = { damaged: (hash: string) => repaired.push(hash) };
  return new Scrubber({ store, repair, bytesPerSecond, tickMs, restMs: 60_000 });
}

describe('Scrubber', () => {
  it('hashes no more than its share of the rate in one turn, and waits out a chunk larger than it', () => {
    fill(40);
    // 1 MiB/s in 20 ms turns: 20 KiB a turn, so a turn takes one 64 KiB chunk, not a page, and
    // the next comes once the rate has paid for it (63 ms on), not 20 ms on.
    const s = scrubber(1024 * 1024);
    s.start();
    vi.advanceTimersByTime(0);
    expect(s.checked).toBe(1);
    vi.advanceTimersByTime(20);
    expect(s.checked).toBe(1);
    vi.advanceTimersByTime(43);
    expect(s.checked).toBe(2);
    // Over a second, a second's worth (16 chunks of 64 KiB; it had been 50, 3.2 MiB).
    vi.advanceTimersByTime(1000 - 63);
    expect(s.checked).toBeGreaterThanOrEqual(16);
    expect(s.checked).toBeLessThanOrEqual(17);
    // 8 MiB/s: 160 KiB a turn, three chunks.
    const fast = scrubber(8 * 1024 * 1024);
    fast.start();
    vi.advanceTimersByTime(0);
    expect(fast.checked).toBe(3);
    s.stop();
    fast.stop();
  });

  it('goes over every chunk, hands a damaged one to repair, then rests before the next pass', () => {
    const hashes = fill(10);
    // Damage at rest: the stored bytes of one chunk no longer hash to its address.
    store.db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(Buffer.alloc(CHUNK, 0xee), hashes[4]);
    const s = scrubber(64 * 1024 * 1024);
    s.start();
    vi.advanceTimersByTime(0);
    expect(s.checked).toBe(10);
    expect(s.passes).toBe(1);
    expect(repaired).toEqual([hashes[4]]);
    vi.advanceTimersByTime(59_999);
    expect(s.checked).toBe(10);
    vi.advanceTimersByTime(1);
    expect(s.passes).toBe(2);
    s.stop();
  });

  it('stops at damage SQLite itself finds, once reported; rests after any other read error', () => {
    fill(4);
    const seen: string[] = [];
    const failing = (code: string) =>
      vi.spyOn(store.chunks, 'page').mockImplementation(() => {
        throw Object.assign(new Error(code), { code });
      });
    const repair = { damaged: () => undefined };
    const logged: string[] = [];
    const s = new Scrubber({
      store,
      repair,
      bytesPerSecond: 1024 * 1024,
      restMs: 60_000,
      log: { error: (_obj, msg) => logged.push(msg) },
      onStoreError: (err) => {
        seen.push((err as { code: string }).code);
        return (err as { code: string }).code === 'SQLITE_CORRUPT';
      },
    });
    const io = failing('SQLITE_IOERR');
    s.start();
    vi.advanceTimersByTime(0);
    expect(seen).toEqual(['SQLITE_IOERR']);
    // Tried again after its rest, not before.
    vi.advanceTimersByTime(59_000);
    expect(seen).toHaveLength(1);
    io.mockRestore();
    const corrupt = failing('SQLITE_CORRUPT');
    vi.advanceTimersByTime(1_000);
    expect(seen).toEqual(['SQLITE_IOERR', 'SQLITE_CORRUPT']);
    vi.advanceTimersByTime(10 * 60_000);
    expect(seen).toHaveLength(2);
    // The rest is said once, for the error that was not damage; damage is its reporter's to say.
    expect(logged).toEqual(['the scrub could not read the store; resting']);
    corrupt.mockRestore();
  });
});
