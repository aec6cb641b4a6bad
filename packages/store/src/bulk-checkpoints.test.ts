import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BulkCheckpoints } from './bulk-checkpoints.js';
import { openStore, type Store } from './store.js';

let dir: string;
let store: Store;
let bulk: BulkCheckpoints | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-bulk-ckpt-'));
  store = openStore(join(dir, 'store.db'));
});

afterEach(async () => {
  await bulk?.end();
  bulk = undefined;
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

const autocheckpoint = () => store.db.pragma('wal_autocheckpoint', { simple: true });

describe('BulkCheckpoints', () => {
  it('runs no thread for small changes, one once a load passes the threshold, none after end()', async () => {
    bulk = new BulkCheckpoints(store, { startAfterBytes: 1000 });
    bulk.wrote(400);
    bulk.wrote(400);
    expect(bulk.running).toBe(false);
    expect(autocheckpoint()).toBe(1000);

    bulk.wrote(400);
    expect(bulk.running).toBe(true);
    expect(autocheckpoint()).toBe(0);
    bulk.wrote(10_000);
    expect(bulk.started).toBe(1);

    await bulk.end();
    expect(bulk.running).toBe(false);
    expect(autocheckpoint()).toBe(1000);

    // Counting starts anew: the bytes of the load before do not count towards the next.
    bulk.wrote(900);
    expect(bulk.running).toBe(false);
    bulk.wrote(200);
    expect(bulk.running).toBe(true);
    expect(bulk.started).toBe(2);
  });
});
