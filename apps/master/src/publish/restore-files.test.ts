import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { markPendingRollback, openStore, pendingRollback, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// A write that fails part-way through a rollback, as on a full disk: the nth temp file opened
// for writing is refused.
let failOpenAt = 0;
let opened = 0;
// A master killed while it renames restored files into place: after the nth rename nothing more
// happens (placing the rest, removing temps, cutting the version). The rollback's file
// operations are blocking calls, so it is held where it next gives the loop a turn.
let hangRenameAt = 0;
let renamed = 0;
let hung = false;
// Turns the rollback offered the event loop, and how many before it opened its first file.
let pauses = 0;
let pausesBeforeFirstOpen: number | null = null;
vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  return {
    ...real,
    openSync: ((path: string, flags: string, ...rest: unknown[]) => {
      if (flags === 'wx') pausesBeforeFirstOpen ??= pauses;
      if (flags === 'wx' && ++opened === failOpenAt)
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC', syscall: 'open' });
      return (real.openSync as (...a: unknown[]) => number)(path, flags, ...rest);
    }) as typeof real.openSync,
    renameSync: ((from: string, to: string) => {
      real.renameSync(from, to);
      if (++renamed === hangRenameAt) hung = true;
    }) as typeof real.renameSync,
  };
});
vi.mock('@outpost/service', async (original) => {
  const real = await original<typeof import('@outpost/service')>();
  class LoopSlicer extends real.LoopSlicer {
    override pause(): Promise<void> | undefined {
      pauses++;
      return hung ? new Promise<void>(() => undefined) : super.pause();
    }
  }
  return { ...real, LoopSlicer };
});

const { Publisher } = await import('./publisher.js');

let dir: string;
let content: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-restore-'));
  content = join(dir, 'content');
  mkdirSync(content);
  store = openStore(join(dir, 'master.sqlite'));
  failOpenAt = 0;
  opened = 0;
  hangRenameAt = 0;
  renamed = 0;
  hung = false;
  pauses = 0;
  pausesBeforeFirstOpen = null;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function publisher() {
  const p = new Publisher({
    contentDir: content,
    store,
    log: pino({ level: 'silent' }),
    onPublished: () => {},
  });
  await p.reconcile();
  return p;
}

/** Every file of the content directory (temp files too) with its text; a folder ends in '/'. */
function disk(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string) => {
    for (const item of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, item.name);
      const rel = relative(content, path);
      if (item.isDirectory()) {
        out[`${rel}/`] = '';
        walk(path);
      } else out[rel] = readFileSync(path, 'utf8');
    }
  };
  walk(content);
  return out;
}

const live = () => Object.fromEntries([...store.versions.liveTree().values()].map((e) => [e.path, e.size]));

describe('rollback across a path that is a file in one version and a folder in the other', () => {
  it('restores a file where the tree has a folder (its files deleted first)', async () => {
    writeFileSync(join(content, 'd'), 'file d\n');
    writeFileSync(join(content, 'keep'), 'keep\n');
    const p = await publisher();
    const v1 = store.versions.current();
    rmSync(join(content, 'd'));
    mkdirSync(join(content, 'd', 'sub'), { recursive: true });
    writeFileSync(join(content, 'd', 'x'), 'x\n');
    writeFileSync(join(content, 'd', 'sub', 'y'), 'y\n');
    await p.submit(['d']);
    expect(Object.keys(live()).sort()).toEqual(['d/sub/y', 'd/x', 'keep']);

    // It had thrown ENOTDIR on the delete of d/x, after writing d: a 500, and a half rolled back tree.
    const rolled = await p.rollback(1);
    expect(rolled).toMatchObject({ version: 3, root: v1.root });
    expect(disk()).toEqual({ d: 'file d\n', keep: 'keep\n' });
    expect(Object.keys(live()).sort()).toEqual(['d', 'keep']);
    await p.close();
  });

  it('restores a folder where the tree has a file', async () => {
    mkdirSync(join(content, 'd', 'sub'), { recursive: true });
    writeFileSync(join(content, 'd', 'x'), 'x\n');
    writeFileSync(join(content, 'd', 'sub', 'y'), 'y\n');
    const p = await publisher();
    rmSync(join(content, 'd'), { recursive: true });
    writeFileSync(join(content, 'd'), 'file d\n');
    await p.submit(['d']);
    expect(Object.keys(live())).toEqual(['d']);

    expect(await p.rollback(1)).toMatchObject({ version: 3 });
    expect(disk()).toEqual({ 'd/': '', 'd/x': 'x\n', 'd/sub/': '', 'd/sub/y': 'y\n' });
    expect(Object.keys(live()).sort()).toEqual(['d/sub/y', 'd/x']);
    await p.close();
  });

  it('changes nothing in the content directory when a file cannot be written, either way', async () => {
    writeFileSync(join(content, 'a.txt'), 'a one\n');
    writeFileSync(join(content, 'd'), 'file d\n');
    mkdirSync(join(content, 'e'));
    writeFileSync(join(content, 'e', 'x'), 'e/x\n');
    const p = await publisher();
    writeFileSync(join(content, 'a.txt'), 'a two\n');
    rmSync(join(content, 'd'));
    mkdirSync(join(content, 'd'));
    writeFileSync(join(content, 'd', 'x'), 'd/x\n');
    rmSync(join(content, 'e'), { recursive: true });
    writeFileSync(join(content, 'e'), 'file e\n');
    await p.submit(['a.txt', 'd', 'e']);
    const before = disk();
    const version = store.versions.current().version;

    // Three files to write (a.txt, d, e/x): the last fails, as on a full disk.
    failOpenAt = 3;
    await expect(p.rollback(1)).rejects.toThrow(/no space left/);
    expect(opened).toBe(3);
    expect(disk()).toEqual(before);
    expect(store.versions.current().version).toBe(version);

    // Room again: the rollback goes through whole.
    failOpenAt = 0;
    expect(await p.rollback(1)).toMatchObject({ version: version + 1 });
    expect(disk()).toEqual({ 'a.txt': 'a one\n', d: 'file d\n', 'e/': '', 'e/x': 'e/x\n' });
    expect(lstatSync(join(content, 'd')).isFile()).toBe(true);
    await p.close();
  });
});

describe('a rollback of a large file', () => {
  it('offers the event loop a turn at each chunk it checks, before it writes anything', async () => {
    // Checked without a turn, a 500 MiB file held the master (heartbeats, DNS) up for a second.
    writeFileSync(join(content, 'big.bin'), randomBytes(2 * 1024 * 1024));
    const p = await publisher();
    const v1 = store.versions.current().version;
    writeFileSync(join(content, 'big.bin'), 'replaced\n');
    await p.submit(['big.bin']);
    pauses = 0;
    await p.rollback(v1);
    const entry = store.versions.treeAt(store.versions.current().version)!.get('big.bin')!;
    expect(entry.chunks.length).toBeGreaterThan(8);
    expect(pausesBeforeFirstOpen).toBeGreaterThanOrEqual(entry.chunks.length);
    await p.close();
  });
});

describe('a rollback cut short by a crash', () => {
  it('is finished at the next start, published as one version, and leaves no temp files', async () => {
    for (const n of [1, 2, 3, 4]) writeFileSync(join(content, `f${n}.txt`), `one ${n}\n`);
    const p = await publisher();
    const v1 = store.versions.current();
    for (const n of [1, 2, 3, 4]) writeFileSync(join(content, `f${n}.txt`), `two ${n}\n`);
    await p.submit(['f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
    const v2 = store.versions.current();

    // Killed after the third rename: three files are back at version 1, one still at version 2.
    hangRenameAt = 3;
    void p.rollback(1);
    await vi.waitFor(() => expect(renamed).toBe(3));
    const texts = Object.values(disk());
    expect(texts.filter((t) => t.startsWith('one')).length).toBeGreaterThan(0);
    expect(texts.filter((t) => t.startsWith('two')).length).toBeGreaterThan(0);

    // The next start finishes the rollback rather than publish that mix.
    hangRenameAt = 0;
    hung = false;
    const restarted = await publisher();
    expect(store.versions.current()).toMatchObject({ version: v2.version + 1, root: v1.root });
    expect(disk()).toEqual({
      'f1.txt': 'one 1\n',
      'f2.txt': 'one 2\n',
      'f3.txt': 'one 3\n',
      'f4.txt': 'one 4\n',
    });
    // And a start after that has nothing left to finish.
    await restarted.close();
    await (await publisher()).close();
    expect(store.versions.current().version).toBe(v2.version + 1);
  });

  it('whose version was cut before the crash is not done again, over what was published since', async () => {
    writeFileSync(join(content, 'a.txt'), 'one\n');
    const p = await publisher();
    writeFileSync(join(content, 'a.txt'), 'two\n');
    await p.submit(['a.txt']);
    await p.rollback(1);
    // Killed after the rollback's version was cut, before its mark was cleared: as it leaves it.
    markPendingRollback(store, { to: 1, from: 2 });
    writeFileSync(join(content, 'a.txt'), 'three\n');
    await p.submit(['a.txt']);
    const v4 = store.versions.current();
    await p.close();
    await (await publisher()).close();
    expect(disk()).toEqual({ 'a.txt': 'three\n' });
    expect(store.versions.current()).toEqual(v4);
    expect(pendingRollback(store)).toBeNull();
  });

  it('before it touched the tree, publishes nothing and leaves no temp files', async () => {
    writeFileSync(join(content, 'a.txt'), 'one\n');
    const p = await publisher();
    writeFileSync(join(content, 'a.txt'), 'two\n');
    await p.submit(['a.txt']);
    const v2 = store.versions.current();
    // A temp file as a crash while staging leaves it (the rollback not yet marked).
    writeFileSync(join(content, '.outpost-restore-0123456789ab.tmp'), 'one\n');
    await p.close();
    await (await publisher()).close();
    expect(disk()).toEqual({ 'a.txt': 'two\n' });
    expect(store.versions.current()).toEqual(v2);
  });
});

describe('what stands in the way of a rollback', () => {
  it('refuses, changing nothing, where a symlink now stands for a folder of the version', async () => {
    mkdirSync(join(content, 'cfg'));
    writeFileSync(join(content, 'cfg', 'settings.ini'), 'from version 1\n');
    writeFileSync(join(content, 'a.txt'), 'a\n');
    const p = await publisher();
    // Outside the content directory: a host's own file of that name.
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'settings.ini'), 'the host file\n');
    rmSync(join(content, 'cfg'), { recursive: true });
    symlinkSync(outside, join(content, 'cfg'));
    await p.submit(['cfg', 'cfg/settings.ini']);
    expect(Object.keys(live())).toEqual(['a.txt']);
    const version = store.versions.current().version;

    await expect(p.rollback(1)).rejects.toThrow(
      /cfg is a symbolic link now, where the version has a folder .*Nothing was changed/,
    );
    expect(readFileSync(join(outside, 'settings.ini'), 'utf8')).toBe('the host file\n');
    expect(readdirSync(outside)).toEqual(['settings.ini']);
    expect(lstatSync(join(content, 'cfg')).isSymbolicLink()).toBe(true);
    expect(store.versions.current().version).toBe(version);
    await p.close();
  });

  it('refuses a file over a folder that holds what was never published, and keeps it', async () => {
    writeFileSync(join(content, 'foo'), 'file foo\n');
    const p = await publisher();
    rmSync(join(content, 'foo'));
    mkdirSync(join(content, 'foo'));
    writeFileSync(join(content, 'foo', 'published.txt'), 'published\n');
    // Refused (a backslash) and ignored (an editor's temp file): in no version.
    writeFileSync(join(content, 'foo', 'bad\\name'), 'p1\n');
    writeFileSync(join(content, 'foo', 'notes.tmp'), 'p2\n');
    await p.submit(['foo']);
    expect(Object.keys(live())).toEqual(['foo/published.txt']);
    const before = disk();

    await expect(p.rollback(1)).rejects.toThrow(
      /foo is a folder now, holding foo\/(bad\\name|notes\.tmp), which was never published; .*Nothing was changed/,
    );
    expect(disk()).toEqual(before);
    // Once they are moved away, the published file goes with the folder.
    rmSync(join(content, 'foo', 'bad\\name'));
    rmSync(join(content, 'foo', 'notes.tmp'));
    expect(await p.rollback(1)).toMatchObject({ version: 3 });
    expect(disk()).toEqual({ foo: 'file foo\n' });
    await p.close();
  });
});
