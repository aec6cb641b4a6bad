import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get, getJson } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

describe('cuts, crashes and restarts', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('a replica killed with -9 catches up on restart, deletions and renames included', async () => {
    fleet = await Fleet.start({
      files: { 'a.txt': 'a1\n', 'keep/b.txt': 'b1\n', 'gone.txt': 'bye\n', 'old-name.txt': 'moving\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
    await fleet.expectConverged();
    await fleet.replica('uk-london').kill();

    fleet.write('a.txt', 'a2\n');
    fleet.write('new/c.txt', 'c1\n');
    fleet.remove('gone.txt');
    fleet.rename('old-name.txt', 'new-name.txt');
    // The survivor keeps up meanwhile; the killed one has missed all of it.
    await fleet.expectConverged(['asia-tokyo'], ['gone.txt', 'old-name.txt']);
    await waitFor(
      async () =>
        (await fleet!.masterStatus()).replicas.find((r: any) => r.name === 'uk-london')?.connected === false,
      { what: 'master to see uk-london gone' },
    );

    await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged(undefined, ['gone.txt', 'old-name.txt']);
  });

  it('replicas keep serving and report offline while the master is down, then converge when it is back', async () => {
    fleet = await Fleet.start({
      files: { 'index.html': '<h1>v1</h1>\n', 'docs/guide.md': 'guide v1\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
    const v1 = await fleet.expectConverged();
    await fleet.master.stop();

    for (const name of ['uk-london', 'asia-tokyo']) {
      await waitFor(
        async () => {
          const s = await fleet!.replicaStatus(name);
          return s.link === 'offline' && s.state === 'offline';
        },
        { what: `${name} to report offline` },
      );
      const res = await get(`${fleet.replica(name).url}/docs/guide.md`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('guide v1\n');
      expect(res.headers['x-outpost-version']).toBe(String(v1.version));
      expect((await get(`${fleet.replica(name).url}/_outpost/readyz`)).status).toBe(200);
    }

    // Changes made while the master was down become a new version when it starts.
    fleet.write('docs/guide.md', 'guide v2\n');
    fleet.write('docs/new.md', 'new while down\n');
    fleet.remove('index.html');
    await fleet.startMaster();
    const v2 = await fleet.expectConverged(undefined, ['index.html']);
    expect(v2.version).toBeGreaterThan(v1.version);
    for (const name of ['uk-london', 'asia-tokyo']) {
      await waitFor(async () => (await fleet!.replicaStatus(name)).link === 'push', {
        what: `${name} back on push`,
      });
    }
  });

  it('never publishes a file caught half-written', async () => {
    fleet = await Fleet.start({ files: { 'seed.txt': 'seed\n' }, masterArgs: ['--settle-ms', '300'] });
    await fleet.masterCaughtUp();
    // Another process appends to a file every few milliseconds for about half a second.
    const target = join(fleet.content, 'report.csv');
    const writer = spawn(process.execPath, [
      '-e',
      `const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'w');
       const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
       for (let i = 0; i < 100; i++) { fs.writeSync(fd, 'row ' + i + ',' + 'x'.repeat(500) + '\\n'); pause(5); }
       fs.closeSync(fd);`,
      target,
    ]);
    await new Promise((r) => writer.once('exit', r));
    const final = createHash('sha256').update(readFileSync(target)).digest('hex');
    const v = await fleet.masterCaughtUp();
    const versions = await getJson(`${fleet.master.url}/_outpost/api/v1/versions`);
    const seen = new Set<string>();
    for (const { version } of versions) {
      const detail = await getJson(`${fleet.master.url}/_outpost/api/v1/versions/${version}`);
      const entry = detail.entries.find((e: any) => e.path === 'report.csv');
      if (entry) seen.add(entry.hash);
    }
    expect([...seen]).toEqual([final]);
    expect(v.entries.find((e) => e.path === 'report.csv')?.hash).toBe(final);
  });

  it('a master restarted over an unchanged tree keeps its version and re-hashes nothing', async () => {
    fleet = new Fleet({ files: { 'x.txt': 'x\n', 'y/z.txt': 'z\n', 'y/w.txt': 'w\n' } });
    // Files last written an hour ago: the scan index can vouch for them (none is "racy").
    const anHourAgo = new Date(Date.now() - 3600_000);
    for (const rel of fleet.diskTree().keys()) utimesSync(join(fleet.content, rel), anHourAgo, anHourAgo);
    await fleet.startMaster();
    const v1 = await fleet.masterCaughtUp();
    const first = fleet.master.logs.find((l) => l.msg === 'reconciled content directory');
    expect(first).toMatchObject({ checked: 3, read: 3 });
    await fleet.master.stop();

    await fleet.startMaster();
    const second = fleet.master.logs.find((l) => l.msg === 'reconciled content directory');
    expect(second).toMatchObject({ checked: 3, read: 0, version: v1.version, root: v1.root });
    const after = await fleet.masterStatus();
    expect(after.version).toBe(v1.version);

    // A same-size edit is still found at the next start, whatever the index says.
    await fleet.master.stop();
    fleet.write('y/z.txt', 'Z\n');
    await fleet.startMaster();
    const third = fleet.master.logs.find((l) => l.msg === 'reconciled content directory');
    expect(third).toMatchObject({ checked: 3, read: 1, version: v1.version + 1 });
  });
});
