import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Symlinks in the content tree, as package and release trees use them (`tool-latest.tgz ->
 * tool-1.4.tgz`): served with their target's bytes, as nginx over an `rsync -a` copy would
 * serve them; never what lies outside the tree.
 */
describe('symlinks in the content tree', () => {
  let fleet: Fleet;
  let url: string;
  beforeAll(async () => {
    fleet = new Fleet({ files: { 'pkg/tool-1.4.tgz': 'tool 1.4\n', 'index.html': 'home\n' } });
    writeFileSync(join(fleet.dir.path, 'secret.txt'), 'the master host only\n');
    symlinkSync('pkg/tool-1.4.tgz', join(fleet.content, 'tool-latest.tgz'));
    symlinkSync(join(fleet.dir.path, 'secret.txt'), join(fleet.content, 'escape.txt'));
    await fleet.startMaster();
    await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged();
    url = fleet.replica('uk-london').url;
  });
  afterAll(() => fleet?.stop());

  const body = async (path: string) => {
    const r = await get(`${url}/${path}`);
    return r.status === 200 ? r.body.toString() : r.status;
  };

  it('serves a link to a file of the tree with its bytes, and the same ETag', async () => {
    expect(await body('tool-latest.tgz')).toBe('tool 1.4\n');
    const [link, target] = await Promise.all([get(`${url}/tool-latest.tgz`), get(`${url}/pkg/tool-1.4.tgz`)]);
    expect(link.headers.etag).toBe(target.headers.etag);
  });

  it('never serves what a link outside the tree leads to, and says so in status', async () => {
    expect(await body('escape.txt')).toBe(404);
    const problems = (await fleet.masterStatus()).problems;
    expect(problems).toContainEqual({
      path: 'escape.txt',
      problem: 'symbolic link leads out of the content directory',
    });
  });

  it('a folder replaced by a link out of the tree: its files leave, the outside is never read', async () => {
    // A folder there when the master started, as in production.
    const own = new Fleet({ files: { 'cfg/settings.ini': 'public settings\n', 'a.txt': 'a\n' } });
    try {
      const outside = join(own.dir.path, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'settings.ini'), 'HOST SECRET\n');
      await own.startMaster();
      await own.startReplica('uk-london', 'uk');
      await own.expectConverged();
      const at = async (path: string) => {
        const r = await get(`${own.replica('uk-london').url}/${path}`);
        return r.status === 200 ? r.body.toString() : r.status;
      };
      expect(await at('cfg/settings.ini')).toBe('public settings\n');
      rmSync(join(own.content, 'cfg'), { recursive: true });
      symlinkSync(outside, join(own.content, 'cfg'));
      await waitFor(async () => (await at('cfg/settings.ini')) === 404, { what: 'cfg/settings.ini gone' });
      await own.expectConverged();
      // And after a restart of the master, which looks at every path the tree held.
      await own.master.stop();
      await own.startMaster();
      await own.expectConverged();
      expect(await at('cfg/settings.ini')).toBe(404);
      expect((await own.masterStatus()).problems).toContainEqual({
        path: 'cfg',
        problem: 'symbolic link leads out of the content directory',
      });
    } finally {
      await own.stop();
    }
  });

  it('follows an edit of the target, and a link switched to a new release', async () => {
    fleet.write('pkg/tool-1.4.tgz', 'tool 1.4, rebuilt\n');
    await waitFor(async () => (await body('tool-latest.tgz')) === 'tool 1.4, rebuilt\n', {
      what: 'the link served with its target edited',
    });
    fleet.write('pkg/tool-1.5.tgz', 'tool 1.5\n');
    // Switched in one step, as `ln -sfn` and `mv -T` do.
    symlinkSync('pkg/tool-1.5.tgz', join(fleet.content, 'tool-latest.tgz.next'));
    renameSync(join(fleet.content, 'tool-latest.tgz.next'), join(fleet.content, 'tool-latest.tgz'));
    await waitFor(async () => (await body('tool-latest.tgz')) === 'tool 1.5\n', {
      what: 'the switched link served',
    });
    // Its target removed, the link leaves the tree, and comes back with it.
    fleet.remove('pkg/tool-1.5.tgz');
    await waitFor(async () => (await body('tool-latest.tgz')) === 404, { what: 'the dangling link gone' });
    fleet.write('pkg/tool-1.5.tgz', 'tool 1.5 again\n');
    await waitFor(async () => (await body('tool-latest.tgz')) === 'tool 1.5 again\n', {
      what: 'the link back with its target',
    });
  });
});
