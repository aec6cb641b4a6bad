import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScanRecord } from './scan-index.js';
import { openStore, type Store } from './store.js';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-scan-'));
  store = openStore(join(dir, 'store.db'));
});

afterEach(() => {
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

const record = (path: string, over: Partial<ScanRecord> = {}): ScanRecord => ({
  path,
  size: 42,
  mtimeMs: 1_700_000_000_123.456,
  ino: 987_654,
  hash: sha256Hex(path),
  scannedAt: 1_700_000_000_999.5,
  ...over,
});

describe('ScanIndex', () => {
  it('has nothing for an unknown path', () => {
    expect(store.scanIndex.get('nope')).toBeUndefined();
  });

  it('gives back exactly what was put, fractional times included', () => {
    const r = record('dir/file.txt');
    store.scanIndex.put(r);
    expect(store.scanIndex.get('dir/file.txt')).toEqual(r);
    expect(store.scanIndex.get('dir/file.tx')).toBeUndefined();
    expect(store.scanIndex.get('DIR/FILE.TXT')).toBeUndefined();
  });

  it('replaces every field of an existing path (upsert)', () => {
    store.scanIndex.put(record('a'));
    store.scanIndex.put(record('b'));
    const updated = record('a', { size: 0, mtimeMs: 5, ino: 6, hash: sha256Hex('new'), scannedAt: 7 });
    store.scanIndex.put(updated);
    expect(store.scanIndex.get('a')).toEqual(updated);
    expect(store.scanIndex.get('b')).toEqual(record('b'));
    expect(store.db.prepare('SELECT count(*) FROM scan_index').pluck().get()).toBe(2);
  });

  it('forgets a deleted path, and deleting an unknown one is harmless', () => {
    store.scanIndex.put(record('a'));
    store.scanIndex.put(record('b'));
    store.scanIndex.delete('a');
    store.scanIndex.delete('never-seen');
    expect(store.scanIndex.get('a')).toBeUndefined();
    expect(store.scanIndex.get('b')).toEqual(record('b'));
  });

  it('keeps unicode paths apart and keeps records across reopen', () => {
    const nfc = record('caf\u00e9.txt', { size: 1 });
    const nfd = record('cafe\u0301.txt', { size: 2 });
    store.scanIndex.put(nfc);
    store.scanIndex.put(nfd);
    store.close();
    store = openStore(join(dir, 'store.db'));
    expect(store.scanIndex.get('caf\u00e9.txt')).toEqual(nfc);
    expect(store.scanIndex.get('cafe\u0301.txt')).toEqual(nfd);
  });
});
