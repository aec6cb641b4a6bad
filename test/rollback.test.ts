import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { cpuSeconds } from './helpers/process-cpu.js';
import { runCli } from './helpers/services.js';

describe('outpost versions and outpost rollback', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'policy.md': 'policy one\n', 'keep.txt': 'keep\n', 'old/only-in-v1.txt': 'v1 only\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('rolls forward to an old version: a new version with its content, at every replica and on disk', async () => {
    const v1 = await fleet.masterCaughtUp();
    fleet.write('policy.md', 'policy two\n');
    fleet.remove('old');
    fleet.write('new/only-in-v2.txt', 'v2 only\n');
    const v2 = await fleet.expectConverged(undefined, ['old/only-in-v1.txt']);
    expect(v2.version).toBeGreaterThan(v1.version);

    const listed = await runCli(['versions', '--master', fleet.master.url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^VERSION\s+CREATED\s+FILES\s+BYTES\s+ROOT$/m);
    expect(listed.stdout).toContain(`\n${v2.version} `);

    const r = await runCli(['rollback', '--master', fleet.master.url, '--to', String(v1.version)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`published version ${v2.version + 1} with the content of version ${v1.version}`),
    );

    const v3 = await fleet.expectConverged(undefined, ['new/only-in-v2.txt']);
    expect(v3.version).toBe(v2.version + 1);
    expect(v3.root).toBe(v1.root);
    expect((await get(`${fleet.replica('asia-tokyo').url}/policy.md`)).body.toString()).toBe('policy one\n');
    // The content directory itself is back at version 1, so the next edit builds on it.
    expect(readFileSync(join(fleet.content, 'policy.md'), 'utf8')).toBe('policy one\n');
    expect(readFileSync(join(fleet.content, 'old/only-in-v1.txt'), 'utf8')).toBe('v1 only\n');
    expect([...fleet.diskTree().keys()].sort()).toEqual(['keep.txt', 'old/only-in-v1.txt', 'policy.md']);

    // The watcher's echo of the restored files made no version of its own: the next edit is v3 + 1.
    fleet.write('after.txt', 'after\n');
    const v4 = await fleet.expectConverged();
    expect(v4.version).toBe(v3.version + 1);
  });

  it('readers who revalidate by date get the rolled-back content, not a 304 for what they had', async () => {
    /** Moves `body` in at `rel` dated `mtime`, as `cp -p` or `tar x` would leave it. */
    const place = (rel: string, body: string, mtime: number) => {
      const staged = join(fleet.dir.path, 'staged.tmp');
      writeFileSync(staged, body);
      utimesSync(staged, new Date(mtime), new Date(mtime));
      renameSync(staged, join(fleet.content, rel));
    };
    place('pkg.txt', 'release 1\n', Date.UTC(2020, 0, 1));
    const v1 = await fleet.expectConverged();
    place('pkg.txt', 'release 2 (bad)\n', Date.UTC(2021, 0, 1));
    await fleet.expectConverged();
    const url = `${fleet.replica('uk-london').url}/pkg.txt`;
    const bad = await get(url);
    expect(bad.headers['last-modified']).toBe('Fri, 01 Jan 2021 00:00:00 GMT');

    const r = await runCli(['rollback', '--master', fleet.master.url, '--to', String(v1.version)]);
    expect(r.code, r.stderr).toBe(0);
    await fleet.expectConverged();
    // wget -N, apt and mirror scripts ask by the date they were given: the content changed since.
    const again = await get(url, { 'if-modified-since': 'Fri, 01 Jan 2021 00:00:00 GMT' });
    expect(again.status).toBe(200);
    expect(again.body.toString()).toBe('release 1\n');
    expect(Date.parse(again.headers['last-modified'] as string)).toBeGreaterThan(Date.UTC(2021, 0, 1));
    // The file on disk keeps the mtime it had in version 1.
    expect(readFileSync(join(fleet.content, 'pkg.txt'), 'utf8')).toBe('release 1\n');
  });

  it('says so when the content already is that version, and refuses versions it does not keep', async () => {
    const current = (await fleet.masterStatus()).version;
    const same = await runCli(['rollback', '--master', fleet.master.url, '--to', String(current)]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('nothing published');
    const missing = await runCli(['rollback', '--master', fleet.master.url, '--to', '9999']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('404');
    expect(missing.stderr).toContain('version 9999 is not kept');
    // Version 0 (the empty tree before a first publish) is never kept: the master says so.
    const zero = await runCli(['rollback', '--master', fleet.master.url, '--to', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('version 0 is not kept');
    const bad = await runCli(['rollback', '--master', fleet.master.url, '--to', 'x']);
    expect(bad.code).toBe(2);
    const raw = await get(
      `${fleet.master.url}/_outpost/api/v1/rollback`,
      { 'content-type': 'application/json' },
      'POST',
    );
    expect(raw.status).toBe(400);
    expect((await fleet.masterStatus()).version).toBe(current);
  });

  it('refuses a version the store cannot give whole, and changes nothing in the content directory', async () => {
    const text = 'bytes that rot in the store\n';
    fleet.write('rotting.txt', text);
    const withIt = await fleet.expectConverged();
    fleet.remove('rotting.txt');
    const without = await fleet.expectConverged(undefined, ['rotting.txt']);
    // Damage at rest, under the running master (a second connection, as a failing disk would).
    const db = new BetterSqlite3(join(fleet.dir.path, 'master', 'master.sqlite'));
    const hash = createHash('sha256').update(text).digest('hex');
    expect(
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(Buffer.from('rotten'), hash).changes,
    ).toBe(1);
    db.close();

    const r = await runCli(['rollback', '--master', fleet.master.url, '--to', String(withIt.version)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `version ${withIt.version} cannot be restored: chunk ${hash} of rotting.txt is damaged in the master's store: nothing was changed`,
    );
    expect(existsSync(join(fleet.content, 'rotting.txt'))).toBe(false);
    expect((await fleet.masterStatus()).version).toBe(without.version);
  });
});

describe('a rollback of many files in one folder', () => {
  it('costs the files it writes, not the folder read again for each of them', async () => {
    // Each awaited file operation gave the master's watcher a turn, and it read the whole
    // folder again: 1,000 files here took 24 s of the master's CPU (0.5 s now).
    const files: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) files[`flat/f${i}.txt`] = `version A file ${i}\n`.repeat(20);
    const fleet = await Fleet.start({ files });
    try {
      const v1 = await fleet.masterCaughtUp(60_000);
      for (let i = 0; i < 1000; i++) fleet.write(`flat/f${i}.txt`, `version B file ${i}\n`.repeat(20));
      const v2 = await fleet.masterCaughtUp(60_000);
      expect(v2.version).toBeGreaterThan(v1.version);
      const pid = fleet.master.proc.pid!;
      const before = cpuSeconds(pid);
      const r = await runCli(['rollback', '--master', fleet.master.url, '--to', String(v1.version)]);
      expect(r.code, r.stderr).toBe(0);
      expect(cpuSeconds(pid) - before).toBeLessThan(8);
      expect(readFileSync(join(fleet.content, 'flat/f999.txt'), 'utf8')).toBe(files['flat/f999.txt']);
      expect((await fleet.masterCaughtUp(60_000)).root).toBe(v1.root);
    } finally {
      await fleet.stop();
    }
  }, 120_000);
});
