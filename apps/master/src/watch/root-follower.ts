import { realpathSync, statSync } from 'node:fs';

/** Which directory a path names now: where it leads (symlinks resolved), and that directory's device and inode. */
export interface RootIdentity {
  real: string;
  dev: number;
  ino: number;
}

/** The directory `path` names now; null when it names none (gone, a dangling link, not a directory). */
export function resolveRoot(path: string): RootIdentity | null {
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    return st.isDirectory() ? { real, dev: st.dev, ino: st.ino } : null;
  } catch {
    return null;
  }
}

/** True when both name the same directory. */
export const sameRoot = (a: RootIdentity, b: RootIdentity) =>
  a.real === b.real && a.dev === b.dev && a.ino === b.ino;

export interface RootFollowerOptions {
  /** The content directory as given: a directory, or a symlink to one (or a path through one). */
  path: string;
  /** The directory it named when watching began. */
  watched: RootIdentity;
  /** How often to look (default 1000 ms). */
  intervalMs?: number;
  /** Told once per change of directory, never twice at once; the next look waits for it. */
  onMoved: (to: RootIdentity) => Promise<void>;
}

/**
 * Notices when the content directory becomes another directory: a symlink switched (releases
 * are often deployed as `current -> releases/42`), a directory replaced by another moved into
 * its place, a file system mounted again. The watcher watches the directories it found, so it
 * would go on watching the old one and miss every later edit until a rewalk. One realpath and
 * one stat a second tell.
 */
export class RootFollower {
  readonly #o: RootFollowerOptions;
  #watched: RootIdentity;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: RootFollowerOptions) {
    this.#o = o;
    this.#watched = o.watched;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule() {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#look(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  async #look() {
    const now = resolveRoot(this.#o.path);
    // Naming no directory is left to the publisher, which refuses to publish an empty tree for it.
    if (now !== null && !sameRoot(now, this.#watched)) {
      this.#watched = now;
      await this.#o.onMoved(now);
    }
    this.#schedule();
  }
}
