import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const f = publisherFixture('outpost-dates-');

const Y2020 = Date.UTC(2020, 0, 1);
const Y2021 = Date.UTC(2021, 0, 1);

/** Writes `body` at `rel`, dated `mtime` (ms). */
function put(rel: string, body: string, mtime: number) {
  const abs = join(f.content, rel);
  writeFileSync(abs, body);
  utimesSync(abs, new Date(mtime), new Date(mtime));
}

const published = (rel: string) => f.store.versions.liveTree().get(rel)?.mtime;

describe('the mtime the publisher gives new content', () => {
  it("is the file's own while it moves forward, and the publish time when it does not", async () => {
    put('pkg.txt', 'release 1\n', Y2020);
    const { p } = await f.reconciled();
    expect(published('pkg.txt')).toBe(Y2020);
    put('pkg.txt', 'release 2\n', Y2021);
    await p.submit(['pkg.txt']);
    expect(published('pkg.txt')).toBe(Y2021);
    // Release 1 back with its own mtime (cp -p, a rollback): older than what readers were told.
    const before = Date.now();
    put('pkg.txt', 'release 1\n', Y2020);
    await p.submit(['pkg.txt']);
    expect(published('pkg.txt')).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(published('pkg.txt')).toBeLessThanOrEqual(Date.now());
    // Other bytes under the very same mtime: dated forward too, past the second before.
    const dated = published('pkg.txt')!;
    put('pkg.txt', 'release 3\n', dated);
    await p.submit(['pkg.txt']);
    expect(Math.floor(published('pkg.txt')! / 1000)).toBeGreaterThan(Math.floor(dated / 1000));
    await p.close();
  });

  it('looks past a delete to what the path held last, and leaves the same content as it is', async () => {
    put('seed.txt', 'seed\n', Y2020);
    put('pkg.txt', 'release 2\n', Y2021);
    const { p } = await f.reconciled();
    rmSync(join(f.content, 'pkg.txt'));
    await p.submit(['pkg.txt']);
    expect(published('pkg.txt')).toBeUndefined();
    // Back, with other bytes dated before the ones it last held.
    put('pkg.txt', 'release 1\n', Y2020);
    await p.submit(['pkg.txt']);
    expect(published('pkg.txt')).toBeGreaterThan(Y2021);
    // A new path, and the same bytes under an older mtime (a touch): their own mtimes.
    put('new.txt', 'new\n', Y2020);
    put('seed.txt', 'seed\n', Y2020 - 1000);
    await p.submit(['new.txt', 'seed.txt']);
    expect(published('new.txt')).toBe(Y2020);
    expect(published('seed.txt')).toBe(Y2020);
    await p.close();
  });
});
