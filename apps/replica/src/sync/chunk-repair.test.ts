import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { openStore, type Store } from '@outpost/store';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChunkRepair } from './chunk-repair.js';

const CHUNK = 64 * 1024;
let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-repair-'));
  store = openStore(join(dir, 'replica.db'));
});

afterEach(() => {
  vi.restoreAllMocks();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ChunkRepair', () => {
  it('hands over a chunk whose row cannot even be dropped, and never throws', async () => {
    const data = Buffer.alloc(CHUNK, 1);
    const hash = sha256Hex(data);
    store.chunks.put(hash, data);
    vi.spyOn(store.chunks, 'delete').mockImplementation(() => {
      throw Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    });
    const reported: string[] = [];
    const fetched: string[] = [];
    const repair = new ChunkRepair(
      store,
      pino({ level: 'silent' }),
      async (h) => {
        fetched.push(h);
        return Buffer.alloc(0);
      },
      (_err, where) => {
        reported.push(where);
        return true;
      },
    );
    expect(await repair.damaged(hash, CHUNK, 'read')).toBe(false);
    expect(reported).toEqual(['a repair']);
    expect(fetched).toEqual([]);
  });
});
