import { realpathSync } from 'node:fs';

/** Where `path` leads now, symlinks resolved; null when it leads nowhere (a dangling link, gone). */
export function resolveRoot(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

export interface RootFollowerOptions {
  /** The content directory as given: a directory, or a symlink to one (or a path through one). */
  path: string;
  /** Where it led when watching began. */
  watched: string;
  /** How often to look (default 1000 ms). */
  intervalMs?: number;
  /** Told once per change of target, never twice at once; the next look waits for it. */
  onMoved: (to: string) => Promise<void>;
}

/**
 * Follows a content directory given as a symlink. Releases are often deployed by switching a
 * link (`current -> releases/42`): the watcher, which watches real directories, would go on
 * watching the old target and miss every later edit until a rewalk. One realpath a second
 * notices the switch.
 */
export class RootFollower {
  readonly #o: RootFollowerOptions;
  #watched: string;
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
    // Leading nowhere is left to the publisher, which refuses to publish an empty tree for it.
    if (now !== null && now !== this.#watched) {
      this.#watched = now;
      await this.#o.onMoved(now);
    }
    this.#schedule();
  }
}
