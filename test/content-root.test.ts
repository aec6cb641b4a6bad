import { mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { getJson } from './helpers/http.js';

/**
 * A content directory that is, or becomes, another directory: given as a symlink, as releases
 * are often deployed (`current -> releases/42`, switched atomically), or replaced by a
 * directory moved into its place. Published, watched where it leads, and followed.
 */
/**
 * How long a change may take to reach the replica here: the watcher or the root follower (which
 * looks every second) sees it, not a rewalk, which comes every 30 s at the soonest. (8 s was
 * tight for a publish and a replica's sync on a busy CI machine.)
 */
const FOLLOWED_MS = 20_000;

describe('the content directory', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  /**
   * A release folder with these files, beside the content link, written a while ago as a
   * deploy tool writes a release before it switches to it. (Written just now, a file could
   * still be inside --settle-ms when the switch is seen, and go out in a version of its own:
   * a CI run on Node 24 saw two versions for one switch.)
   */
  function release(f: Fleet, name: string, files: Record<string, string>): string {
    const dir = join(f.dir.path, 'releases', name);
    const before = new Date(Date.now() - 10_000);
    for (const [rel, data] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), data);
      utimesSync(join(dir, rel), before, before);
    }
    return dir;
  }

  /** Points the content link at `target` in one step, as `ln -sfn` + `mv -T` do. */
  function switchLink(f: Fleet, target: string) {
    const tmp = `${f.content}.next`;
    symlinkSync(target, tmp);
    renameSync(tmp, f.content);
  }

  it('given as a symlink is published and watched where it leads; a switch of the link publishes the new release as one version', async () => {
    const f = new Fleet();
    fleet = f;
    const r1 = release(f, '1', { 'index.html': 'release 1', 'docs/a.txt': 'same in both' });
    renameSync(f.content, join(f.dir.path, 'unused'));
    symlinkSync(r1, f.content);
    await f.startMaster();
    await f.startReplica('uk-london', 'uk');
    const v1 = await f.expectConverged();
    expect(v1.entries.map((e) => e.path).sort()).toEqual(['docs/a.txt', 'index.html']);

    // An edit where the link leads is seen by the watcher, not left for a rewalk minutes later.
    f.write('docs/b.txt', 'new in release 1');
    const v2 = await f.expectConverged(undefined, [], FOLLOWED_MS);
    expect(v2.version).toBe(v1.version + 1);

    const r2 = release(f, '2', { 'index.html': 'release 2', 'docs/a.txt': 'same in both', 'new.txt': 'n' });
    switchLink(f, r2);
    const v3 = await f.expectConverged(undefined, ['docs/b.txt'], FOLLOWED_MS);
    expect(v3.version).toBe(v2.version + 1);
    expect(v3.entries.map((e) => e.path).sort()).toEqual(['docs/a.txt', 'index.html', 'new.txt']);

    // And the new release is watched.
    f.write('new.txt', 'edited in release 2');
    const v4 = await f.expectConverged(undefined, [], FOLLOWED_MS);
    expect(v4.version).toBe(v3.version + 1);
    const log = f.master.logs.find(
      (l) => l.msg === 'content directory is now another directory; watching it there',
    );
    expect(log).toMatchObject({ from: r1, to: r2 });
  });

  it('replaced by a directory moved into its place is watched anew, and published as one version', async () => {
    const f = await Fleet.start({ files: { 'a.txt': 'a', 'old.txt': 'old' } });
    fleet = f;
    await f.startReplica('uk-london', 'uk');
    const v1 = await f.expectConverged();
    const next = release(f, 'next', { 'a.txt': 'a', 'new.txt': 'new' });
    renameSync(f.content, join(f.dir.path, 'previous'));
    renameSync(next, f.content);
    const v2 = await f.expectConverged(undefined, ['old.txt'], FOLLOWED_MS);
    expect(v2.version).toBe(v1.version + 1);
    // The watcher moved with it: an edit is published at once, not at the next rewalk.
    f.write('new.txt', 'edited');
    const v3 = await f.expectConverged(undefined, [], FOLLOWED_MS);
    expect(v3.version).toBe(v2.version + 1);
  });

  it('replaced by a directory with the same folders is published as one version, never its folders before the rest', async () => {
    // The watches of the old folders report the swap under their paths, which name the new
    // folders now: a batch of those alone had been a version of the new folders beside the old
    // top-level files, which neither directory ever held.
    const files = (tag: string) => {
      const out: Record<string, string> = { 'top.txt': `top ${tag}` };
      for (let d = 0; d < 5; d++) for (let i = 0; i < 4; i++) out[`d${d}/f${i}.txt`] = `${tag} ${d}/${i}`;
      return out;
    };
    const f = await Fleet.start({ files: files('old') });
    fleet = f;
    await f.startReplica('uk-london', 'uk');
    const v1 = await f.expectConverged();
    const next = release(f, 'next', { ...files('new'), 'added/n.txt': 'new folder' });
    renameSync(f.content, join(f.dir.path, 'previous'));
    renameSync(next, f.content);
    const v2 = await f.expectConverged(undefined, [], FOLLOWED_MS);
    const versions = (await getJson(`${f.master.url}/_outpost/api/v1/versions`)) as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual([v2.version, v1.version]);
    expect(v2.version).toBe(v1.version + 1);
  });
});
