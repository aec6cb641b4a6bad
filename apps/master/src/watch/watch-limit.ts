import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

/** Where Linux says how many directories one user may watch. */
const LIMIT_FILE = '/proc/sys/fs/inotify/max_user_watches';

/**
 * Directories the system would not let the watcher watch: inotify's per-user limit reached
 * (`fs.inotify.max_user_watches`, low by default on older systems, shared with every editor
 * and IDE of that user). chokidar then reports one error per directory, and changes in them
 * were seen only by the rewalk, ten minutes later, with nothing said in status.
 */
export class WatchLimit {
  readonly #log: Logger;
  readonly #unwatched = new Set<string>();
  readonly #onFirst: () => void;

  constructor(o: { log: Logger; onFirst: () => void }) {
    this.#log = o.log;
    this.#onFirst = o.onFirst;
  }

  /** Takes a watcher error: true when it was the watch limit (noted; said once, not per directory). */
  take(err: unknown): boolean {
    const e = err as NodeJS.ErrnoException | undefined;
    // ENOSPC from fs.watch is the watch limit, not a full disk.
    if (e?.code !== 'ENOSPC' || (e.syscall !== 'watch' && !e.message.includes('file watchers'))) return false;
    const path = e.path ?? /watch '(.*)'$/.exec(e.message)?.[1] ?? e.message;
    const first = this.#unwatched.size === 0;
    this.#unwatched.add(path);
    if (first) {
      this.#log.warn(
        { limit: systemLimit(), first: path },
        'the system limit on watched directories is reached',
      );
      this.#onFirst();
    }
    return true;
  }

  /** Whether the system refused `path` (absolute) a watch. */
  refused(path: string): boolean {
    return this.#unwatched.has(path);
  }

  /** Directories left unwatched. */
  get count(): number {
    return this.#unwatched.size;
  }

  /** What status says while directories are unwatched, or null. */
  message(rewalkEveryMs: number): string | null {
    if (this.#unwatched.size === 0) return null;
    const limit = systemLimit();
    return `${this.#unwatched.size} directories are not watched: the system's limit on watches was reached (fs.inotify.max_user_watches${limit === null ? '' : ` = ${limit}`}). Their changes are found by a rewalk every ${Math.round(rewalkEveryMs / 1000)} s instead of at once; raise the limit (sysctl) and restart the master`;
  }

  /** A new watcher starts (the content directory moved): what it cannot watch, it says again. */
  clear(): void {
    this.#unwatched.clear();
  }
}

function systemLimit(): number | null {
  try {
    return Number(readFileSync(LIMIT_FILE, 'utf8').trim());
  } catch (err) {
    // Not Linux (or no procfs): the limit goes unnamed.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
