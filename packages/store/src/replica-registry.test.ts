import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_ROOT, sha256Hex } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReplicaRecord } from './replica-registry.js';
import { openStore, type Store } from './store.js';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-replicas-'));
  store = openStore(join(dir, 'store.db'));
});

afterEach(() => {
  if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

const replica = (name: string, region: string, over: Partial<ReplicaRecord> = {}): ReplicaRecord => ({
  name,
  region,
  version: 3,
  root: sha256Hex(`root of ${name}`),
  lastSeenAt: 1_700_000_000_000,
  error: null,
  advertise: `${name}.example.net:7080`,
  link: 'push',
  ...over,
});

describe('ReplicaRegistry', () => {
  it('is empty at first', () => {
    expect(store.replicas.all()).toEqual([]);
  });

  it('gives back what was saved, nulls included', () => {
    const r = replica('uk-london', 'uk', { lastSeenAt: null, error: null, advertise: null, link: 'offline' });
    store.replicas.save(r);
    expect(store.replicas.all()).toEqual([r]);
  });

  it('orders replicas by region, then name', () => {
    const records = [
      replica('us-west', 'us'),
      replica('uk-manchester', 'uk'),
      replica('asia-tokyo', 'asia'),
      replica('uk-london', 'uk'),
      replica('asia-seoul', 'asia'),
    ];
    for (const r of records) store.replicas.save(r);
    expect(store.replicas.all().map((r) => `${r.region}/${r.name}`)).toEqual([
      'asia/asia-seoul',
      'asia/asia-tokyo',
      'uk/uk-london',
      'uk/uk-manchester',
      'us/us-west',
    ]);
  });

  it('updates every field of a replica saved again under the same name', () => {
    store.replicas.save(replica('uk-london', 'uk'));
    store.replicas.save(replica('asia-tokyo', 'asia'));
    const updated = replica('uk-london', 'eu', {
      version: 9,
      root: EMPTY_ROOT,
      lastSeenAt: 1_800_000_000_000,
      error: 'chunk abc failed verification',
      advertise: null,
      link: 'pull',
    });
    store.replicas.save(updated);
    const all = store.replicas.all();
    expect(all).toHaveLength(2);
    expect(all.find((r) => r.name === 'uk-london')).toEqual(updated);
    expect(all.find((r) => r.name === 'asia-tokyo')).toEqual(replica('asia-tokyo', 'asia'));
    // The error can be cleared again.
    store.replicas.save({ ...updated, error: null });
    expect(store.replicas.all().find((r) => r.name === 'uk-london')!.error).toBeNull();
  });

  it('removes one replica by name, and says whether there was one', () => {
    store.replicas.save(replica('uk-london', 'uk'));
    store.replicas.save(replica('asia-tokyo', 'asia'));
    expect(store.replicas.remove('uk-london')).toBe(true);
    expect(store.replicas.remove('uk-london')).toBe(false);
    expect(store.replicas.remove('us-west')).toBe(false);
    expect(store.replicas.all().map((r) => r.name)).toEqual(['asia-tokyo']);
  });

  it('remembers replicas across reopen', () => {
    const r = replica('asia-tokyo', 'asia', { error: 'offline since noon', link: 'offline' });
    store.replicas.save(r);
    store.close();
    store = openStore(join(dir, 'store.db'));
    expect(store.replicas.all()).toEqual([r]);
  });
});
