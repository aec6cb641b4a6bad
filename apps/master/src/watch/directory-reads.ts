import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { FSWatcher } from 'chokidar';

/*
 * chokidar answers every event of a directory's watch by reading the whole directory again (a
 * readdir and an lstat of each entry), to find entries come and gone. The master watches
 * directories only, and takes the files' events itself (the raw events): so a log appended
 * every 20 ms in a folder of 5,000 files had chokidar list and stat those 5,000 files after
 * each append, a whole core, where the publisher needs one lstat. The listing matters only
 * when a subdirectory comes or goes. This holds an event's read back until the raw event that
 * caused it (which chokidar emits right after, in the same turn) says what it named, and
 * lets it go only for a directory, a name chokidar knows as one, or an event that names
 * nothing or cannot be looked at.
 *
 * It reaches into chokidar 5's NodeFsHandler (`_handleRead`, called with `initialAdd` false
 * and no throttler for an event; with a throttler for the read again of a directory whose
 * events came during a read) and FSWatcher (`_getWatchedDir`). If those are not there (another
 * chokidar), nothing is changed, and its test in watcher.test.ts fails.
 */

type Read = (this: unknown, directory: string, initialAdd: boolean, ...rest: unknown[]) => unknown;
interface Internals {
  _nodeFsHandler?: { _handleRead?: Read };
  _getWatchedDir?: (dir: string) => { has(name: string): boolean };
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
  const original = handler?._handleRead;
  const watchedDir = w._getWatchedDir?.bind(watcher);
  if (!handler || typeof original !== 'function' || !watchedDir) return null;
  const counts: DirectoryReads = { read: 0, skipped: 0 };
  /** Reads held this turn, by the directory as the raw event names it. */
  const held = new Map<string, { args: [string, boolean, ...unknown[]]; needed: boolean }>();

  handler._handleRead = function (this: unknown, directory: string, initialAdd: boolean, ...rest: unknown[]) {
    // rest: wh, target, dir, depth, throttler. A crawl's read, or the read again of a directory
    // whose (wanted) events came during a read, goes as chokidar meant it.
    if (initialAdd || rest[4] !== undefined) return original.call(this, directory, initialAdd, ...rest);
    const key = join(directory, '');
    if (held.has(key)) return undefined;
    const entry = {
      args: [directory, initialAdd, ...rest] as [string, boolean, ...unknown[]],
      needed: false,
    };
    held.set(key, entry);
    queueMicrotask(() => {
      held.delete(key);
      if (!entry.needed) {
        counts.skipped++;
        return;
      }
      counts.read++;
      void original.apply(this, entry.args);
    });
    return undefined;
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
