import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait-for.js';

describe('a replica restarted after a crash, already in sync', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'a.txt': 'a\n' },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('sweeps what no version names: the push link says it holds the master version', async () => {
    await fleet.replica('uk-london').kill();
    // What a download cut short by the crash left: a chunk no version names.
    const file = join(fleet.dir.path, 'replica-uk-london', 'replica.sqlite');
    const litter = Buffer.from('a chunk of a version never applied');
    const db = new BetterSqlite3(file);
    db.prepare('INSERT INTO chunks (hash, size, data) VALUES (?, ?, ?)').run(
      sha256Hex(litter),
      litter.length,
      litter,
    );
    db.close();
    const has = () => {
      const ro = new BetterSqlite3(file, { readonly: true });
      try {
        return ro.prepare('SELECT 1 FROM chunks WHERE hash = ?').get(sha256Hex(litter)) !== undefined;
      } finally {
        ro.close();
      }
    };
    expect(has()).toBe(true);
    const r = await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged();
    // No manifest comes (nothing to apply): the welcome alone says it is in sync.
    await waitFor(() => r.logs.some((l) => l.msg === 'swept unreferenced chunks'), {
      what: 'the start sweep',
      timeoutMs: 10_000,
    });
    expect(has()).toBe(false);
  });
});
