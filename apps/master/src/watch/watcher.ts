import { lstatSync, type Stats } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { forgetReplacedDirectory, readDirectoriesOnlyForDirectories } from './directory-reads.js';
import { type IgnoreRule, isIgnoredPath } from './ignore-rules.js';

/** Converts an absolute path under root into the tree's POSIX relative path. */
export function toRelative(root: string, abs: string): string {
  const rel = relative(root, abs);
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/**
 * Watches `root` and reports each changed relative path; resolves once the initial crawl is done,
 * or at once when `signal` aborts (the crawl then not done: close the watcher).
 *
 * chokidar watches directories only: it would otherwise put an inotify watch on every file,
 * and a tree of 100,000 files exhausts the system's watches (ENOSPC) and memory. A directory's
 * own watch already reports every create, write, move and delete of the files in it; those
 * come as chokidar's raw events, and the publisher looks at each named path to see what it is.
 */
export async function watchTree(
  root: string,
  onPath: (relPath: string) => void,
  onError: (err: unknown) => void,
  opts: { recheckNewDirMs?: number; signal?: AbortSignal; ignored?: IgnoreRule } = {},
): Promise<FSWatcher> {
  const recheckMs = opts.recheckNewDirMs ?? 1000;
  const ignored = opts.ignored ?? isIgnoredPath;
  const report = (abs: string) => {
    const rel = toRelative(root, abs);
    if (rel !== '' && !rel.startsWith('..') && !ignored(rel)) onPath(rel);
  };
  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    // Our own quiet window coalesces events; chokidar's atomic mode would delay deletes by 100 ms.
    atomic: false,
    ignored: (abs: string, stats?: Stats) => {
      const rel = toRelative(root, abs);
      if (rel !== '' && ignored(rel)) return true;
      // Only directories get a watch of their own; anything else is seen through its directory's.
      return stats !== undefined && !stats.isDirectory();
    },
  });
  // A file's event is the publisher's (below): chokidar reads a directory again only when a
  // subdirectory may have come or gone.
  readDirectoriesOnlyForDirectories(watcher);
  watcher.on('raw', (event, name: string | null, details) => {
    const dir = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (!dir) return;
    const named = rawEventPath(dir, name);
    if (named !== null) report(named);
    // A folder renamed in over one of the same name: watched afresh (as new, so named again
    // once its watch is in place).
    if (event === 'rename' && name) forgetReplacedDirectory(watcher, dir, name);
  });
  // A directory made or moved in: the publisher walks it for files that arrived before its watch.
  // chokidar says addDir first, then reads the directory, and only then watches it: a file
  // written after the publisher's walk and before that watch was missed (until the rewalk,
  // minutes later): a test writing 200 files into a new directory on a loaded machine saw 140
  // of them unpublished 20 s on. So the directory is named again once its watch is surely in
  // place (a second walk stats its files; those already known are not read again).
  watcher.on('addDir', (abs: string) => {
    report(abs);
    namedAgainLater(watcher, () => report(abs), recheckMs);
  });
  watcher.on('unlinkDir', report);
  watcher.on('error', onError);
  // An abort (the master stopping) ends the wait for a crawl that may take minutes; the caller,
  // which sees it stopped, closes the watcher, and chokidar stops crawling between directories.
  const signal = opts.signal;
  await new Promise<void>((resolve) => {
    const aborted = () => resolve();
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', aborted, { once: true });
    watcher.once('ready', () => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    });
  });
  return watcher;
}

/**
 * The path a raw event of the watch on `dir` names, or null when it names none to look at.
 *
 * No name: the directory itself changed; its parent's watch names it. But inotify tells an
 * event of the watched directory itself (chmod 000 of it, say) under the directory's own name,
 * as if of a file in it: `x/deep` seemed to hold an `x/deep/deep`, and the publisher, which could
 * not look inside, reported that path (which does not exist) as unreadable beside the folder.
 * So a name that is the directory's own names a file in it only if that file can be looked up;
 * ENOENT still names it (a file of that name may just have been deleted).
 */
export function rawEventPath(
  dir: string,
  name: string | null,
  canLookUp: (abs: string) => boolean = lookable,
): string | null {
  if (!name) return dir;
  const abs = join(dir, name);
  if (name !== basename(dir)) return abs;
  return canLookUp(abs) ? abs : null;
}

/** False when the path cannot be looked up for want of rights (its directory cannot be searched). */
function lookable(abs: string): boolean {
  try {
    lstatSync(abs);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'EACCES' && code !== 'EPERM';
  }
}

/**
 * Watches each directory a whole-tree walk listed (relative to `root`) that `watcher` has no
 * watch for, and names it again once its watch is surely in place; returns those it added.
 *
 * chokidar lists a directory before it watches it: a directory made in one during its crawl,
 * between the two, is in no listing and gets no event (seen here for one made 20 ms into the
 * crawl of a directory of 2,000 files), so nothing made in it later was seen until the next
 * rewalk, ten minutes on. The walk after the crawl lists it: it is watched then.
 */
export function watchMissed(
  watcher: FSWatcher,
  root: string,
  relDirs: readonly string[],
  onPath: (relPath: string) => void,
  opts: { recheckMs?: number; cannotWatch?: (abs: string) => boolean } = {},
): string[] {
  if (watcher.closed) return [];
  const watched = watcher.getWatched();
  const added: string[] = [];
  for (const rel of relDirs) {
    const abs = rel === '' ? root : join(root, rel);
    // One the system refused a watch (its limit reached) is left to the rewalk, not tried again.
    if (abs in watched || opts.cannotWatch?.(abs)) continue;
    watcher.add(abs);
    added.push(rel);
    // What was written in it between the walk's listing and the watch: the publisher walks it again.
    namedAgainLater(watcher, () => onPath(rel), opts.recheckMs ?? 1000);
  }
  return added;
}

/** Calls `fn` after `ms` unless the watcher has been closed by then. */
function namedAgainLater(watcher: FSWatcher, fn: () => void, ms: number): void {
  setTimeout(() => {
    if (!watcher.closed) fn();
  }, ms).unref();
}

/** The directory (absolute) a watcher error says the system refused a watch for lack of permission, or null. */
export function watchPermissionRefused(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException | undefined;
  if ((e?.code !== 'EACCES' && e?.code !== 'EPERM') || e.syscall !== 'watch') return null;
  return e.path ?? null;
}
