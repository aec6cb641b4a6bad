import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FoldersOnTheWay } from './folders-on-the-way.js';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const f = publisherFixture('outpost-folder-links-');

const paths = () => [...f.store.versions.liveTree().keys()].sort();

/** A folder `cfg` with settings.ini, and outside the content directory a folder with a file of that name. */
function cfgAndOutside(): string {
  mkdirSync(join(f.content, 'cfg'));
  writeFileSync(join(f.content, 'cfg', 'settings.ini'), 'public settings\n');
  writeFileSync(join(f.content, 'a.txt'), 'a\n');
  const outside = join(f.dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'settings.ini'), 'HOST SECRET\n');
  return outside;
}

describe('a folder of the tree replaced by a symlink', () => {
  it('takes its files out of the tree, and never reads them through the link', async () => {
    const outside = cfgAndOutside();
    const { p } = await f.reconciled();
    expect(paths()).toEqual(['a.txt', 'cfg/settings.ini']);
    rmSync(join(f.content, 'cfg'), { recursive: true });
    symlinkSync(outside, join(f.content, 'cfg'));
    // As the watcher names them: the old file, and the link in the folder's place.
    await p.submit(['cfg/settings.ini', 'cfg']);
    expect(paths()).toEqual(['a.txt']);
    expect(p.problems.get('cfg')).toMatch(/symbolic link/);
    // Named alone, in either order, and after a restart: still not a file of the tree.
    await p.submit(['cfg/settings.ini']);
    await p.close();
    const again = await f.reconciled();
    await again.p.submit(['cfg/settings.ini']);
    expect(paths()).toEqual(['a.txt']);
    await again.p.close();
  });

  it('at a restart too, when the swap came while the master was down', async () => {
    const outside = cfgAndOutside();
    const first = await f.reconciled();
    await first.p.close();
    rmSync(join(f.content, 'cfg'), { recursive: true });
    symlinkSync(outside, join(f.content, 'cfg'));
    const { p } = await f.reconciled();
    expect(paths()).toEqual(['a.txt']);
    await p.close();
  });

  it('a link to a folder inside the tree: its old paths leave too', async () => {
    mkdirSync(join(f.content, 'p'));
    mkdirSync(join(f.content, 'q'));
    writeFileSync(join(f.content, 'p', 'x'), 'p/x\n');
    writeFileSync(join(f.content, 'q', 'x'), 'q/x\n');
    const { p } = await f.reconciled();
    rmSync(join(f.content, 'p'), { recursive: true });
    symlinkSync('q', join(f.content, 'p'));
    await p.submit(['p', 'p/x']);
    expect(paths()).toEqual(['q/x']);
    await p.close();
  });
});

describe('FoldersOnTheWay', () => {
  it('names the first folder on the way that is not one, and looks again after a second', () => {
    mkdirSync(join(f.content, 'a', 'b'), { recursive: true });
    writeFileSync(join(f.content, 'file'), 'x');
    let now = 0;
    const folders = new FoldersOnTheWay(f.content, () => now);
    expect(folders.blocked('top.txt')).toBeNull();
    expect(folders.blocked('a/b/c.txt')).toBeNull();
    expect(folders.blocked('file/c.txt')).toBe('file');
    expect(folders.blocked('gone/x/y')).toBe('gone');
    rmSync(join(f.content, 'a', 'b'), { recursive: true });
    symlinkSync('/etc', join(f.content, 'a', 'b'));
    // What was found stands for a second, then is looked at again.
    expect(folders.blocked('a/b/passwd')).toBeNull();
    now = 1001;
    expect(folders.blocked('a/b/passwd')).toBe('a/b');
  });
});

describe('a folder the publisher looks into', () => {
  it('tells the folders it could list, so that one made readable gets its watch', async () => {
    mkdirSync(join(f.content, 'locked', 'deep'), { recursive: true });
    writeFileSync(join(f.content, 'locked', 'deep', 'a.txt'), 'a\n');
    const walked: string[][] = [];
    const { p } = await f.reconciled({ onWalkedDirs: (dirs) => walked.push([...dirs]) });
    walked.length = 0;
    // As the parent's watch names it when its mode changes (chmod 755).
    await p.submit(['locked']);
    expect(walked).toEqual([['locked', 'locked/deep']]);
    await p.close();
  });
});
