import { randomBytes } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  type Stats,
  utimesSync,
  writeSync,
} from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Change, sha256Hex, type TreeEntry } from '@outpost/core';
import { LoopSlicer } from '@outpost/service';
import type { Store } from '@outpost/store';
import type { IgnoreRule } from '../watch/ignore-rules.js';
import { isNotFound, lstatOrNull } from './read-file.js';

/** A rollback the store cannot serve whole: nothing in the content directory was changed. */
export class RestoreRefusedError extends Error {
  override name = 'RestoreRefusedError';
}

/** A rollback the content directory stands in the way of: nothing in it was changed. */
export class RestoreConflictError extends Error {
  override name = 'RestoreConflictError';
}

/**
 * Reads every chunk the puts need and checks it against its address, before any file is
 * touched: a damaged chunk written into the content directory would have put bad bytes in the
 * source of truth, under an index entry vouching for the good ones, and a rollback that failed
 * halfway would have left the directory half rolled back.
 */
async function checkChunks(store: Store, changes: readonly Change[], slicer: LoopSlicer): Promise<void> {
  const checked = new Set<string>();
  for (const change of changes) {
    if (change.op !== 'put') continue;
    for (const c of change.entry.chunks) {
      if (checked.has(c.hash)) continue;
      checked.add(c.hash);
      // Read and hashed without a turn, a 500 MiB file held the master up for about a second.
      await slicer.pause();
      const data = store.chunks.get(c.hash);
      const what = !data ? 'missing from' : sha256Hex(data) !== c.hash ? 'damaged in' : null;
      if (what)
        throw new RestoreRefusedError(
          `chunk ${c.hash} of ${change.entry.path} is ${what} the master's store: nothing was changed; \`outpost verify\` on its --data says more`,
        );
    }
  }
}

/**
 * Refuses, before anything is touched, a rollback the content directory stands in the way of:
 * - a symlink where the version has a folder on the way to one of its paths: a rollback writes
 *   and deletes by path, and through a link it would write or delete in the link's target,
 *   outside the content directory for one that leads out;
 * - a put over a folder that holds anything the rollback's deletes do not take: the folder goes
 *   with what is in it, and what is left there was never published (a refused name, an
 *   editor's temp file, what --exclude leaves out), so exists nowhere else.
 */
async function checkInTheWay(root: string, changes: readonly Change[], excluded?: IgnoreRule) {
  const deleted = new Set<string>();
  for (const change of changes) if (change.op === 'delete') deleted.add(change.path);
  for (const change of changes) {
    const path = change.op === 'put' ? change.entry.path : change.path;
    const link = await linkOnTheWay(root, path);
    if (link !== null)
      throw new RestoreConflictError(
        `${link} is a symbolic link now, where the version has a folder (it holds ${path}); a rollback never writes through a link: remove it first. Nothing was changed`,
      );
    if (change.op !== 'put') continue;
    if (!(await lstatOrNull(join(root, path)))?.isDirectory()) continue;
    const held = await firstUnpublished(root, path, deleted);
    if (held !== null)
      throw new RestoreConflictError(
        `${path} is a folder now, holding ${held}, which ${excluded?.(held) ? '--exclude leaves out' : 'was never published'}; the version has a file there: move the folder away first. Nothing was changed`,
      );
  }
}

/** The first folder on the way to `path` that is a symbolic link now, or null. */
async function linkOnTheWay(root: string, path: string): Promise<string | null> {
  for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) {
    const dir = path.slice(0, at);
    const st = await lstatOrNull(join(root, dir));
    if (st === null) return null;
    if (st.isSymbolicLink()) return dir;
  }
  return null;
}

/** The first path under the folder `rel` that is not among `deleted` (a folder itself is no file to lose), or null. */
async function firstUnpublished(
  root: string,
  rel: string,
  deleted: ReadonlySet<string>,
): Promise<string | null> {
  for (const item of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = `${rel}/${item.name}`;
    if (item.isDirectory()) {
      const found = await firstUnpublished(root, path, deleted);
      if (found !== null) return found;
    } else if (!deleted.has(path)) return path;
  }
  return null;
}

/** The temp files a rollback writes beside their places; a crash can leave them behind. */
const RESTORE_TEMP = /^\.outpost-restore-[0-9a-f]{12}\.tmp$/;

/** True when a file name is one of a rollback's temp files. */
export const isRestoreTemp = (name: string): boolean => RESTORE_TEMP.test(name);

/** A put's bytes, written in full to a temp file (ignored by the watcher) and not yet in place. */
interface Staged {
  entry: TreeEntry;
  temp: string;
  placed: boolean;
}

/**
 * Makes the content directory match a set of changes taken from the store (a rollback).
 *
 * Every put is first written in full, from its stored chunks, to a temp file and given its old
 * mtime; only once all are written is the tree touched: the deletes (deepest first), then each
 * temp renamed into place. What fails most (a full disk, a chunk the store cannot give) fails
 * while nothing in the tree has changed, and the temps are removed. The deletes go first because
 * a version may hold a file where the tree has a folder (or the reverse): a put of `d` over a
 * folder `d` would otherwise have come before the delete of `d/x`, which then failed (ENOTDIR)
 * and stopped the rollback halfway. The scan index learns every file written, so neither the
 * watcher's echo nor a restart reads them again. `onStaged` runs once every put is written,
 * before the tree is touched. `excluded`: what --exclude leaves out, which is never removed.
 */
export async function restoreFiles(
  contentDir: string,
  store: Store,
  changes: readonly Change[],
  onStaged: () => void = () => undefined,
  excluded?: IgnoreRule,
): Promise<void> {
  const slicer = new LoopSlicer(SLICE_MS);
  await checkChunks(store, changes, slicer);
  const root = resolve(contentDir);
  await checkInTheWay(root, changes, excluded);
  const staged: Staged[] = [];
  try {
    for (const change of changes)
      if (change.op === 'put') staged.push(await stage(root, store, change.entry, slicer));
    onStaged();
    await removeAll(root, store, changes, slicer);
    for (const s of staged) {
      place(root, store, s);
      await slicer.pause();
    }
  } finally {
    // A failure leaves no temp behind (on a full disk, they are what filled it).
    for (const s of staged) if (!s.placed) rmSync(s.temp, { force: true });
  }
}

/**
 * The file operations of a rollback are blocking calls, a slice of them at a time: each one
 * awaited on its own gave the watcher (in this process) a turn after every step, and it read
 * the whole folder again for each file made or renamed in it. A rollback of 1,000 files in one
 * folder took 24 s of CPU (572,882 stats for 500), of 4,000 in 40 folders 44–49 s.
 */
const SLICE_MS = 20;

/**
 * Writes a put's bytes to a temp file in the nearest folder of its path that is a folder now
 * (the same file system as where it goes, so the rename that places it is atomic).
 */
async function stage(root: string, store: Store, entry: TreeEntry, slicer: LoopSlicer): Promise<Staged> {
  const dir = nearestDir(root, entry.path);
  const temp = join(dir, `.outpost-restore-${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx');
    try {
      for (const c of entry.chunks) {
        const data = store.chunks.get(c.hash);
        if (!data) throw new Error(`chunk ${c.hash} of ${entry.path} is missing from the store`);
        for (let at = 0; at < data.length; ) at += writeSync(fd, data, at);
        // A large file gives the loop its turns between chunks.
        await slicer.pause();
      }
    } finally {
      closeSync(fd);
    }
    utimesSync(temp, new Date(entry.mtime), new Date(entry.mtime));
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return { entry, temp, placed: false };
}

/** The deepest ancestor of `path` that is a directory on disk now (the root at worst). */
function nearestDir(root: string, path: string): string {
  const parts = path.split('/');
  for (let n = parts.length - 1; n > 0; n--) {
    const dir = join(root, ...parts.slice(0, n));
    if (lstatSyncOrNull(dir)?.isDirectory()) return dir;
  }
  return root;
}

/** Removes the deleted files, deepest first; one already gone (its folder too, or replaced by a file) is done. */
async function removeAll(
  root: string,
  store: Store,
  changes: readonly Change[],
  slicer: LoopSlicer,
): Promise<void> {
  const paths = changes.flatMap((c) => (c.op === 'delete' ? [c.path] : []));
  paths.sort((a, b) => depth(b) - depth(a));
  for (const path of paths) {
    try {
      rmSync(join(root, path), { force: true });
    } catch (err) {
      // `force` forgives ENOENT only: under a path that is a file now, ENOTDIR says the same.
      if (!isNotFound(err)) throw err;
    }
    store.scanIndex.delete(path);
    await slicer.pause();
  }
}

/** Renames a staged file into place, over a folder of that name if the tree has one now. */
function place(root: string, store: Store, s: Staged): void {
  const { path, size, hash } = s.entry;
  const abs = join(root, path);
  mkdirSync(dirname(abs), { recursive: true });
  // Its files that the tree held are deleted already, and nothing else was in it (checkInTheWay):
  // what is left is empty folders.
  if (lstatSyncOrNull(abs)?.isDirectory()) rmSync(abs, { recursive: true, force: true });
  renameSync(s.temp, abs);
  s.placed = true;
  const st = lstatSync(abs);
  store.scanIndex.put({ path, size, mtimeMs: st.mtimeMs, ino: st.ino, hash, scannedAt: Date.now() });
}

function lstatSyncOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

const depth = (path: string) => path.split('/').length;
