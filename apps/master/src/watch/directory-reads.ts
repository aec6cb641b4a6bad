import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { FSWatcher } from 'chokidar';

/*
 * chokidar answers every event of a directory's watch by reading the whole directory again (a
 * readdir and an lstat of each entry), to find entries come and gone. The master watches
 * directories only, and takes the files' events itself (the raw events): so a log appended
 * every 20 ms in a folder of 5,000 files had chokidar list and stat those 5,000 files after
 * each append, a whole core, where the publisher needs one lstat. The listing matters only
 * when a subdirectory comes or goes. This holds each call of a directory watch's listener back
 * until the raw event that caused it (which chokidar emits right after, in the same turn) says
 * what it named, and lets it go only for a directory, a name chokidar knows as one, or an event
 * that names nothing or cannot be looked at. The reads of a crawl, of a directory new to it and
 * of one read again after a busy read are not listener calls, and go as before.
 *
 * It reaches into chokidar 5's NodeFsHandler (`_watchWithNodeFs(path, listener)`, whose
 * listener a directory's watch calls with its path at each event) and FSWatcher
 * (`_getWatchedDir`, `_remove`). If those are not there (another chokidar), nothing is
 * changed, and its test in watcher.test.ts fails.
 */

type Listener = (path: string, ...rest: unknown[]) => void;
type WatchWithNodeFs = (this: unknown, path: string, listener?: Listener) => unknown;
interface Internals {
  _nodeFsHandler?: { _watchWithNodeFs?: WatchWithNodeFs };
  _getWatchedDir?: (dir: string) => { has(name: string): boolean };
  _remove?: (dir: string, name: string) => void;
}

/** Counts of event-driven directory reads: let through and held back. */
export interface DirectoryReads {
  read: number;
  skipped: number;
}

/** Makes `watcher` read a directory again only for the events that may concern a subdirectory. */
export function readDirectoriesOnlyForDirectories(watcher: FSWatcher): DirectoryReads | null {
  const w = watcher as unknown as Internals;
  const handler = w._nodeFsHandler;
  const original = handler?._watchWithNodeFs;
  const watchedDir = w._getWatchedDir?.bind(watcher);
  if (!handler || typeof original !== 'function' || !watchedDir) return null;
  const counts: DirectoryReads = { read: 0, skipped: 0 };
  /** Listener calls held this turn, by the watched path as the raw event names it. */
  const held = new Map<string, { calls: (() => void)[]; needed: boolean }>();

  handler._watchWithNodeFs = function (this: unknown, path: string, listener?: Listener) {
    if (!listener) return original.call(this, path, listener);
    const filtered: Listener = (changed, ...rest) => {
      const key = join(changed, '');
      let entry = held.get(key);
      if (!entry) {
        const made = { calls: [] as (() => void)[], needed: false };
        held.set(key, made);
        entry = made;
        queueMicrotask(() => {
          held.delete(key);
          if (!made.needed) {
            counts.skipped++;
            return;
          }
          counts.read++;
          for (const call of made.calls) call();
        });
      }
      entry.calls.push(() => listener(changed, ...rest));
    };
    return original.call(this, path, filtered);
  };

  watcher.on('raw', (_event, name: string | null, details) => {
    const dir = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (!dir) return;
    const entry = held.get(join(dir, ''));
    if (entry && !entry.needed) entry.needed = mayBeDirectory(dir, name, watchedDir);
  });
  return counts;
}

/** Whether an event named (or may have named) a subdirectory: one there now, or one chokidar knew. */
function mayBeDirectory(
  dir: string,
  name: string | null,
  watchedDir: (dir: string) => { has(name: string): boolean },
): boolean {
  if (!name) return true;
  if (watchedDir(dir).has(name)) return true;
  try {
    return lstatSync(join(dir, name)).isDirectory();
  } catch (err) {
    // Gone, and not a directory chokidar knew: a file. Anything else is for chokidar to meet.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * After a rename in `dir` that names `name`: when that is a folder chokidar watches and a folder
 * is there now, its watches are dropped, so that the listing of `dir` this event brings finds
 * it new and watches it afresh. A watch follows an inode, not a name: a folder renamed over an
 * empty one (`mv -T new site`), or two swapped in one step (RENAME_EXCHANGE), left `site`
 * watched at the old inode, or not at all, while chokidar, seeing the same names in `dir`,
 * watched nothing new; edits in it went unseen until the rewalk. A folder renamed away and
 * another made under its name is the same case.
 */
export function forgetReplacedDirectory(watcher: FSWatcher, dir: string, name: string): boolean {
  const w = watcher as unknown as Internals;
  if (!w._getWatchedDir || !w._remove || !w._getWatchedDir.call(watcher, dir).has(name)) return false;
  try {
    if (!lstatSync(join(dir, name)).isDirectory()) return false;
  } catch {
    // Gone: the listing finds it gone, as it always has.
    return false;
  }
  w._remove.call(watcher, dir, name);
  return true;
}
