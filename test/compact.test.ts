import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { sample } from './helpers/metric-sample.js';
import { noise } from './helpers/noise.js';
import { runCli } from './helpers/services.js';

/** Bytes of a store on disk: the database and its WAL. */
function storeBytes(file: string): number {
  let wal = 0;
  try {
    wal = statSync(`${file}-wal`).size;
  } catch {
    // No WAL: a store closed cleanly.
  }
  return statSync(file).size + wal;
}

/** A service's store gauges, as Prometheus scrapes them. */
async function storeGauges(url: string, service: 'master' | 'replica') {
  const text = (await get(`${url}/_outpost/metrics`)).body.toString();
  const label =
    service === 'master' ? '{service="master"}' : '{service="replica",replica="uk-london",region="uk"}';
  return {
    bytes: sample(text, `outpost_${service}_store_bytes${label}`) ?? -1,
    free: sample(text, `outpost_${service}_store_free_bytes${label}`) ?? -1,
  };
}

describe('outpost compact', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'keep.txt': 'stays\n' },
      masterArgs: ['--keep-versions', '2'],
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it("gives back what collected versions left in a stopped service's store, which then runs on", async () => {
    const masterDir = join(fleet.dir.path, 'master');
    const replicaDir = join(fleet.dir.path, 'replica-uk-london');
    fleet.write('big.bin', noise(16 * 1024 * 1024, 'compact'));
    await fleet.expectConverged();
    fleet.remove('big.bin');
    await fleet.expectConverged(undefined, ['big.bin']);
    // Two more versions: the one that held big.bin is collected at both ends.
    for (const n of [1, 2]) {
      fleet.write('keep.txt', `stays, edit ${n}\n`);
      await fleet.expectConverged();
    }

    const held = await runCli(['compact', '--data', replicaDir]);
    expect(held.code, held.stdout + held.stderr).toBe(1);
    expect(held.stdout).toContain('NOT COMPACTED');
    expect(held.stdout).toContain('held by a running outpost service: stop it first');

    // The metrics tell what a compaction would give back.
    const MiB = 1024 * 1024;
    for (const [url, service] of [
      [fleet.master.url, 'master'],
      [fleet.replica('uk-london').url, 'replica'],
    ] as const) {
      const g = await storeGauges(url, service);
      expect(g.free, service).toBeGreaterThan(15 * MiB);
      expect(g.bytes, service).toBeGreaterThan(g.free);
    }

    await fleet.replica('uk-london').stop();
    await fleet.master.stop();
    const before = {
      master: storeBytes(join(masterDir, 'master.sqlite')),
      replica: storeBytes(join(replicaDir, 'replica.sqlite')),
    };
    expect(before.master).toBeGreaterThan(16 * 1024 * 1024);
    expect(before.replica).toBeGreaterThan(16 * 1024 * 1024);
    for (const dir of [masterDir, replicaDir]) {
      const r = await runCli(['compact', '--data', dir, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [report] = Object.values(JSON.parse(r.stdout)) as { compacted: boolean; bytesAfter: number }[];
      expect(report).toMatchObject({ compacted: true });
    }
    expect(storeBytes(join(masterDir, 'master.sqlite'))).toBeLessThan(before.master - 15 * 1024 * 1024);
    expect(storeBytes(join(replicaDir, 'replica.sqlite'))).toBeLessThan(before.replica - 15 * 1024 * 1024);

    // Both run on the compacted stores: the latest version is still held, and the next one taken.
    await fleet.startMaster();
    await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged(undefined, ['big.bin']);
    for (const [url, service] of [
      [fleet.master.url, 'master'],
      [fleet.replica('uk-london').url, 'replica'],
    ] as const) {
      const g = await storeGauges(url, service);
      expect(g.free, service).toBeLessThan(MiB);
      expect(g.bytes, service).toBeLessThan(8 * MiB);
    }
    fleet.write('after.txt', 'published after the compaction\n');
    await fleet.expectConverged();
    for (const dir of [masterDir, replicaDir]) {
      const r = await runCli(['verify', '--data', dir]);
      expect(r.code, r.stdout).toBe(0);
    }
  });
});
