import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DirectoryReads, readDirectoriesOnlyForDirectories } from './directory-reads.js';
import { makeDirAfterListing } from './mid-crawl-dir.test-helper.js';
import { watchMissed, watchPermissionRefused, watchTree } from './watcher.js';

/** inotify watches this process holds (Linux: one "inotify wd:" line per watch in fdinfo). */
function inotifyWatches(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    try {
      n += (readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // The fd closed between the listing and the read.
    }
  }
  return n;
}

async function until(cond: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let root: string;
let watcher: FSWatcher | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-watch-'));
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** Watches `root` (the test's `watcher`, closed after it); every path it names goes into the set. */
async function watchNaming(opts: Parameters<typeof watchTree>[3] = {}): Promise<Set<string>> {
  const seen = new Set<string>();
  watcher = await watchTree(
    root,
    (rel) => seen.add(rel),
    (err) => {
      throw err;
    },
    opts,
  );
  return seen;
}

/**
 * Writes `rel` (under root) again at each poll until the watcher names it: a folder's watch is
 * in place a moment after chokidar says it watches it, and nothing tells when.
 */
async function writeUntilNamed(seen: Set<string>, rel: string): Promise<void> {
  seen.delete(rel);
  await until(() => {
    if (seen.has(rel)) return true;
    writeFileSync(join(root, rel), `written at ${Date.now()}`);
    return false;
  }, `${rel} to be named`);
}

/** Python that swaps two paths in one step: renameat2(RENAME_EXCHANGE). */
const EXCHANGE = [
  'import ctypes, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'sys.exit(libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2) != 0)',
].join('\n');

describe.runIf(process.platform === 'linux')('watchTree', () => {
  it('stops waiting for its crawl once aborted, and a close then leaves no watch behind', async () => {
    for (let i = 0; i < 200; i++) mkdirSync(join(root, `d${i}`, 'inner'), { recursive: true });
    const before = inotifyWatches();
    const stopping = new AbortController();
    stopping.abort();
    const w = await watchTree(
      root,
      () => undefined,
      () => undefined,
      { signal: stopping.signal },
    );
    // Resolved before the crawl of 401 directories put their watches in place: a master
    // stopping need not wait for it.
    expect(inotifyWatches() - before).toBeLessThan(401);
    await w.close();
    await until(() => inotifyWatches() === before, 'every watch to be gone');
  });

  it('watches directories, not files: 3 directories of 300 files cost a handful of watches', async () => {
    for (const d of ['a', 'b', 'c']) {
      mkdirSync(join(root, d));
      for (let i = 0; i < 300; i++) writeFileSync(join(root, d, `f${i}.txt`), `${i}`);
    }
    const before = inotifyWatches();
    watcher = await watchTree(
      root,
      () => undefined,
      (err) => {
        throw err;
      },
    );
    // The root and its three directories: 4 (chokidar may add one for the root's parent).
    expect(inotifyWatches() - before).toBeLessThanOrEqual(5);
  });

  it('still names every file written, created, moved and deleted', async () => {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'a.txt'), 'a');
    writeFileSync(join(root, 'gone.txt'), 'x');
    const seen = await watchNaming();
    writeFileSync(join(root, 'docs', 'a.txt'), 'changed');
    await until(() => seen.has('docs/a.txt'), 'a write');
    writeFileSync(join(root, 'new.txt'), 'new');
    await until(() => seen.has('new.txt'), 'a create');
    rmSync(join(root, 'gone.txt'));
    await until(() => seen.has('gone.txt'), 'a delete');
    const watchesBefore = inotifyWatches();
    mkdirSync(join(root, 'fresh'));
    writeFileSync(join(root, 'fresh', 'inside.txt'), 'in a new directory');
    // The new directory is named (the publisher walks it); files written after its watch are named too.
    await until(() => seen.has('fresh'), 'a new directory');
    // chokidar lists a directory as watched a moment before the kernel's watch is in place (a
    // file written in between was missed on a loaded machine): wait for the kernel's.
    await until(() => inotifyWatches() > watchesBefore, 'the new directory to be watched');
    writeFileSync(join(root, 'fresh', 'later.txt'), 'later');
    await until(() => seen.has('fresh/later.txt'), 'a file in a new directory');
    writeFileSync(join(root, '.a.txt.swp'), 'editor temp');
    writeFileSync(join(root, 'after.txt'), 'after');
    await until(() => seen.has('after.txt'), 'the last write');
    expect([...seen].some((p) => p.endsWith('.swp'))).toBe(false);
  });

  it('watches a folder moved in over an empty one, and two folders swapped, at their new inodes', async () => {
    // The watch of a path is the watch of an inode: a folder renamed over it (`mv -T new site`)
    // or swapped with another (renameat2 RENAME_EXCHANGE) kept the old inode's, or none, and
    // chokidar, which saw the same names in the parent, never watched the new one: edits in it
    // went unseen until the rewalk, minutes on.
    mkdirSync(join(root, 'site'));
    mkdirSync(join(root, 'a', 'deep'), { recursive: true });
    mkdirSync(join(root, 'b'));
    const outside = mkdtempSync(join(tmpdir(), 'outpost-watch-outside-'));
    mkdirSync(join(outside, 'new', 'sub'), { recursive: true });
    const seen = await watchNaming({ recheckNewDirMs: 50 });
    try {
      renameSync(join(outside, 'new'), join(root, 'site'));
      await until(() => seen.has('site'), 'the folder moved in');
      // Edits in it, and in its subfolder, are named (once its watches are in place).
      await writeUntilNamed(seen, 'site/index.html');
      await writeUntilNamed(seen, 'site/sub/c');

      // a and b swapped in one step (renameat2 RENAME_EXCHANGE, as `mv --exchange` does; Node
      // has no call for it): a/deep is now b/deep. Left out where python3 is not installed.
      const swapped = spawnSync('python3', ['-c', EXCHANGE, join(root, 'a'), join(root, 'b')]);
      if (swapped.error || swapped.status !== 0) return;
      await until(() => seen.has('a') && seen.has('b'), 'the swap');
      await writeUntilNamed(seen, 'a/x');
      await writeUntilNamed(seen, 'b/deep/y');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('names a new directory again once it is watched, for files that came between the walk and the watch', async () => {
    const named: { rel: string; at: number }[] = [];
    watcher = await watchTree(
      root,
      (rel) => named.push({ rel, at: Date.now() }),
      (err) => {
        throw err;
      },
      { recheckNewDirMs: 200 },
    );
    mkdirSync(join(root, 'burst'));
    const times = () => named.filter((n) => n.rel === 'burst').map((n) => n.at);
    await until(() => times().length > 0, 'the new directory');
    // Its parent's watch and chokidar's addDir name it at once; the recheck comes later.
    await until(() => times().some((t) => t - times()[0]! >= 150), 'the directory named again');
    // By then chokidar watches it.
    expect(join(root, 'burst') in watcher.getWatched()).toBe(true);
  });

  it('misses a directory made between its crawl listing the parent and watching it; watchMissed watches it', async () => {
    // chokidar lists a directory, then watches it: the directory is made in between.
    mkdirSync(join(root, 'other'));
    const restore = makeDirAfterListing(root, 'late');
    const seen = new Set<string>();
    try {
      watcher = await watchTree(
        root,
        (rel) => seen.add(rel),
        (err) => {
          throw err;
        },
        { recheckNewDirMs: 100 },
      );
    } finally {
      restore();
    }
    // Missed: no watch, and a file made in it goes unseen.
    expect(join(root, 'late') in watcher.getWatched()).toBe(false);
    writeFileSync(join(root, 'late', 'unseen.txt'), 'x');
    // (A write in the root itself would make chokidar list the root again, and find it.)
    writeFileSync(join(root, 'other', 'marker.txt'), 'x');
    await until(() => seen.has('other/marker.txt'), 'a write in another directory');
    expect(seen.has('late/unseen.txt')).toBe(false);

    // A walk lists it: watched, and named again for what came before the watch.
    // Not one the system refused a watch.
    const refused = (abs: string) => abs === join(root, 'late');
    expect(watchMissed(watcher, root, ['', 'late'], () => undefined, { cannotWatch: refused })).toEqual([]);
    expect(
      watchMissed(watcher, root, ['', 'late'], (rel) => seen.add(`again:${rel}`), { recheckMs: 100 }),
    ).toEqual(['late']);
    await until(() => seen.has('again:late'), 'the directory named again');
    expect(join(root, 'late') in watcher.getWatched()).toBe(true);
    writeFileSync(join(root, 'late', 'seen.txt'), 'x');
    await until(() => seen.has('late/seen.txt'), 'a write in the directory now watched');
    // Watched directories are left alone.
    expect(watchMissed(watcher, root, ['', 'late'], () => undefined)).toEqual([]);
  });
});

describe('watchPermissionRefused', () => {
  it('names the directory a watch was refused for lack of permission, and nothing else', () => {
    const err = (code: string, syscall: string) =>
      Object.assign(new Error(`${code}: permission denied, watch '/c/locked'`), {
        code,
        syscall,
        path: '/c/locked',
      });
    expect(watchPermissionRefused(err('EACCES', 'watch'))).toBe('/c/locked');
    expect(watchPermissionRefused(err('EPERM', 'watch'))).toBe('/c/locked');
    expect(watchPermissionRefused(err('ENOSPC', 'watch'))).toBeNull();
    expect(watchPermissionRefused(err('EACCES', 'scandir'))).toBeNull();
    expect(watchPermissionRefused(undefined)).toBeNull();
  });
});

/** A watcher as watchTree makes it (directories only), with the filter; its raw events counted. */
async function start(): Promise<{ w: FSWatcher; reads: DirectoryReads; raw: () => number; dirs: string[] }> {
  const w = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false,
    ignored: (_abs: string, stats?: { isDirectory(): boolean }) =>
      stats !== undefined && !stats.isDirectory(),
  });
  watcher = w;
  const reads = readDirectoriesOnlyForDirectories(w);
  expect(reads, "chokidar's internals as this module knows them").not.toBeNull();
  let raw = 0;
  const dirs: string[] = [];
  w.on('raw', () => raw++);
  w.on('addDir', (abs: string) => dirs.push(abs));
  w.on('unlinkDir', (abs: string) => dirs.push(`-${abs}`));
  await new Promise<void>((r) => w.once('ready', () => r()));
  return { w, reads: reads!, raw: () => raw, dirs };
}

describe('readDirectoriesOnlyForDirectories', () => {
  it("reads no directory again for its files' events, and still for a subdirectory come or gone", async () => {
    for (let i = 0; i < 300; i++) writeFileSync(join(root, `f${i}.txt`), `file ${i}\n`);
    const { reads, raw, dirs } = await start();

    // A log appended, a file replaced by a rename, a file made and deleted: events, no read.
    for (let i = 0; i < 30; i++) {
      appendFileSync(join(root, 'f1.txt'), `line ${i}\n`);
      writeFileSync(join(root, '.tmp'), `content ${i}\n`);
      renameSync(join(root, '.tmp'), join(root, 'f2.txt'));
    }
    writeFileSync(join(root, 'new.txt'), 'new\n');
    rmSync(join(root, 'f3.txt'));
    await until(() => raw() >= 60 && reads.skipped > 0, 'the files’ events');
    await new Promise((r) => setTimeout(r, 100));
    expect(reads.read).toBe(0);

    // A subdirectory made, and one removed: read, and told.
    mkdirSync(join(root, 'sub'));
    await until(() => dirs.includes(join(root, 'sub')), 'addDir of sub');
    rmSync(join(root, 'sub'), { recursive: true });
    await until(() => dirs.includes(`-${join(root, 'sub')}`), 'unlinkDir of sub');
    expect(reads.read).toBeGreaterThan(0);
  });
});
