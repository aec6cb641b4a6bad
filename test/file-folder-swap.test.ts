import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { runCli } from './helpers/services.js';

/** Fails when a published version holds a path that is a file and, with files under it, a folder. */
function expectNoFileIsAFolder(entries: { path: string }[]) {
  const files = new Set(entries.map((e) => e.path));
  for (const path of files)
    for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1))
      expect(files.has(path.slice(0, slash)), `${path.slice(0, slash)} is a file and a folder`).toBe(false);
}

describe('a path that is a file in one version and a folder in another', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { ss: 'file ss\n', 'd/x': 'd/x\n', 'd/sub/y': 'd/sub/y\n', 'keep.txt': 'keep\n' },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('is published as what it is now when swapped in one burst, either way, and rolled back, either way', async () => {
    const v1 = await fleet.masterCaughtUp();
    const uk = fleet.replica('uk-london').url;

    // One burst: a file becomes a folder, a folder becomes a file.
    rmSync(join(fleet.content, 'ss'));
    mkdirSync(join(fleet.content, 'ss'));
    writeFileSync(join(fleet.content, 'ss', 'in'), 'in\n');
    rmSync(join(fleet.content, 'd'), { recursive: true });
    writeFileSync(join(fleet.content, 'd'), 'file d\n');
    const v2 = await fleet.expectConverged(undefined, ['d/x', 'd/sub/y']);
    expect(v2.entries.map((e) => e.path).sort()).toEqual(['d', 'keep.txt', 'ss/in']);
    // A folder now: no longer the deleted file (a redirect to `ss/`).
    expect((await get(`${uk}/ss`)).status).not.toBe(200);
    expect((await get(`${uk}/d`)).body.toString()).toBe('file d\n');

    // Back to version 1: `d` a folder again and `ss` a file, answered 200 (it had been a 500,
    // after the content directory had been changed halfway).
    const r = await runCli(['rollback', '--master', fleet.master.url, '--to', String(v1.version)]);
    expect(r.code, r.stderr).toBe(0);
    const v3 = await fleet.expectConverged(undefined, ['ss/in']);
    expect(v3.root).toBe(v1.root);
    expect(readFileSync(join(fleet.content, 'ss'), 'utf8')).toBe('file ss\n');
    expect(statSync(join(fleet.content, 'd')).isDirectory()).toBe(true);
    expect((await get(`${uk}/d/sub/y`)).body.toString()).toBe('d/sub/y\n');

    // And forward again to version 2's content.
    const again = await runCli(['rollback', '--master', fleet.master.url, '--to', String(v2.version)]);
    expect(again.code, again.stderr).toBe(0);
    const v4 = await fleet.expectConverged(undefined, ['d/x', 'd/sub/y']);
    expect(v4.root).toBe(v2.root);

    for (const v of [v1, v2, v3, v4]) expectNoFileIsAFolder(v.entries);
  });
});
