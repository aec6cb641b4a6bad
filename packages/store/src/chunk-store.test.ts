import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from './store.js';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-chunks-'));
  store = openStore(join(dir, 'store.db'));
});

afterEach(() => {
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = () => store.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;

describe('ChunkStore', () => {
  it('stores a chunk and gives its bytes back by hash', () => {
    const data = Buffer.from('some chunk bytes');
    const hash = sha256Hex(data);
    expect(store.chunks.has(hash)).toBe(false);
    expect(store.chunks.get(hash)).toBeUndefined();
    store.chunks.put(hash, data);
    expect(store.chunks.has(hash)).toBe(true);
    const back = store.chunks.get(hash);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back!.equals(data)).toBe(true);
    expect(store.db.prepare('SELECT size FROM chunks WHERE hash = ?').pluck().get(hash)).toBe(data.length);
  });

  it('writes a chunk over a damaged copy with replace, where put leaves the first copy', () => {
    const data = Buffer.from('genuine bytes');
    const hash = sha256Hex(data);
    store.chunks.put(hash, Buffer.from('damaged bytes'));
    store.chunks.put(hash, data);
    expect(store.chunks.get(hash)!.toString()).toBe('damaged bytes');
    store.chunks.replace(hash, data);
    expect(store.chunks.get(hash)!.equals(data)).toBe(true);
    expect(rows()).toBe(1);
  });

  it('keeps binary data exactly, including zero bytes and a large chunk', () => {
    const binary = Buffer.from([0, 255, 0, 1, 2, 0, 0]);
    const large = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < large.length; i++) large[i] = (i * 31 + 7) & 0xff;
    for (const data of [binary, large]) {
      store.chunks.put(sha256Hex(data), data);
      expect(store.chunks.get(sha256Hex(data))!.equals(data)).toBe(true);
    }
  });

  it('stores a chunk once: a second put of the same hash is a no-op', () => {
    const data = Buffer.from('dedup me');
    const hash = sha256Hex(data);
    store.chunks.put(hash, data);
    store.chunks.put(hash, Buffer.from('dedup me'));
    store.chunks.put(hash, Buffer.from('something else entirely'));
    expect(rows()).toBe(1);
    expect(store.chunks.get(hash)!.toString()).toBe('dedup me');
  });

  it('does not mistake one hash for another', () => {
    const a = Buffer.from('a');
    store.chunks.put(sha256Hex(a), a);
    expect(store.chunks.has(sha256Hex('b'))).toBe(false);
    expect(store.chunks.has(sha256Hex('a').toUpperCase())).toBe(false);
    expect(store.chunks.has(sha256Hex('a').slice(0, 63))).toBe(false);
  });

  it('lists the missing hashes once each, in first-seen order', () => {
    const have = ['one', 'two'].map((s) => {
      const data = Buffer.from(s);
      store.chunks.put(sha256Hex(data), data);
      return sha256Hex(data);
    });
    const [x, y, z] = ['x', 'y', 'z'].map((s) => sha256Hex(s)) as [string, string, string];
    expect(store.chunks.missing([])).toEqual([]);
    expect(store.chunks.missing(have)).toEqual([]);
    expect(store.chunks.missing([z, have[0]!, x, z, have[1]!, y, x])).toEqual([z, x, y]);
    // Any iterable will do.
    expect(store.chunks.missing(new Set([y, have[0]!]))).toEqual([y]);
    expect(
      store.chunks.missing(
        (function* () {
          yield x;
          yield x;
        })(),
      ),
    ).toEqual([x]);
  });

  it('is empty until a chunk is stored, and again once the last one is dropped', () => {
    expect(store.chunks.isEmpty()).toBe(true);
    const data = Buffer.from('one chunk');
    store.chunks.put(sha256Hex(data), data);
    expect(store.chunks.isEmpty()).toBe(false);
    store.chunks.delete(sha256Hex(data));
    expect(store.chunks.isEmpty()).toBe(true);
  });

  it('makes a new store with 16 KiB pages, and keeps the page size of an existing one', () => {
    expect(store.db.pragma('page_size', { simple: true })).toBe(16384);
    store.close();
    const old = join(dir, 'old.db');
    const raw = new BetterSqlite3(old);
    raw.pragma('page_size = 4096');
    raw.pragma('journal_mode = WAL');
    raw.exec('CREATE TABLE t (x)');
    raw.close();
    store = openStore(old);
    expect(store.db.pragma('page_size', { simple: true })).toBe(4096);
    const data = Buffer.alloc(100_000, 7);
    store.chunks.put(sha256Hex(data), data);
    expect(store.chunks.get(sha256Hex(data))?.equals(data)).toBe(true);
  });

  it('keeps chunks across reopen', () => {
    const data = Buffer.from('durable');
    store.chunks.put(sha256Hex(data), data);
    store.close();
    store = openStore(join(dir, 'store.db'));
    expect(store.chunks.get(sha256Hex(data))!.toString()).toBe('durable');
    expect(store.chunks.missing([sha256Hex(data)])).toEqual([]);
  });
});
