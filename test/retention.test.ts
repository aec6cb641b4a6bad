import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { getJson } from './helpers/http.js';
import { runCli } from './helpers/services.js';

/** Rows in a table of a (running) service's store. */
function count(file: string, table: string): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('retention and garbage collection', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'stable.txt': 'never changes\n', 'doc.txt': 'draft 0\n' },
      masterArgs: ['--keep-versions', '3'],
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('keeps the last K versions at the master, the current and previous one at a replica, and collects the rest', async () => {
    // asia-tokyo sleeps through all of it and must come back on a full manifest.
    await fleet.replica('asia-tokyo').kill();
    for (let i = 1; i <= 6; i++) {
      fleet.write('doc.txt', `draft ${i}\n${'x'.repeat(100_000 + i)}`);
      await fleet.expectConverged(['uk-london']);
    }
    const versions = await getJson(`${fleet.master.url}/_outpost/api/v1/versions`);
    expect(versions).toHaveLength(3);
    const latest = versions[0].version;
    expect(versions.map((v: any) => v.version)).toEqual([latest, latest - 1, latest - 2]);

    const masterDb = join(fleet.dir.path, 'master', 'master.sqlite');
    // Three versions of doc.txt (two chunks each) and stable.txt: nothing else is kept.
    expect(count(masterDb, 'contents')).toBe(4);
    const replicaDb = join(fleet.dir.path, 'replica-uk-london', 'replica.sqlite');
    // The replica: the current version and the one before (doc.txt twice, stable.txt once).
    expect(count(replicaDb, 'versions')).toBe(2);
    expect(count(replicaDb, 'contents')).toBe(3);

    await fleet.startReplica('asia-tokyo', 'asia');
    await fleet.expectConverged();
    const s = await fleet.masterStatus();
    expect(s.replicas.every((r: any) => r.state === 'in-sync')).toBe(true);

    for (const dir of ['master', 'replica-uk-london']) {
      const r = await runCli(['verify', '--data', join(fleet.dir.path, dir)]);
      expect(r.code, r.stdout).toBe(0);
    }
  });
});
