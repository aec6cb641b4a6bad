import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { isNotFound } from './read-file.js';

/** How long what was found of a folder is taken for true: a folder swapped for a link after that is looked at again. */
const FRESH_MS = 1000;

/**
 * Whether the folders on the way to a path of the tree are folders now, looked up once a second
 * at most. A path is looked at by name (the watcher's events, the tree's own paths at a
 * restart), and a stat by name follows a symlink anywhere on the way: a folder replaced by a
 * link (`rm -rf cfg && ln -s /etc cfg`) made `cfg/passwd` a regular file of the tree again,
 * with the bytes of /etc/passwd. A path under such a link is no path of the tree.
 */
export class FoldersOnTheWay {
  readonly #root: string;
  readonly #now: () => number;
  #known = new Map<string, boolean>();
  #since = 0;

  constructor(root: string, now: () => number = Date.now) {
    this.#root = root;
    this.#now = now;
  }

  /** The first folder on the way to `rel` that is not a folder now (a symlink, a file, nothing), or null. */
  blocked(rel: string): string | null {
    const now = this.#now();
    if (now - this.#since > FRESH_MS) {
      this.#known = new Map();
      this.#since = now;
    }
    for (let at = rel.indexOf('/'); at !== -1; at = rel.indexOf('/', at + 1)) {
      const dir = rel.slice(0, at);
      let folder = this.#known.get(dir);
      if (folder === undefined) {
        folder = this.#isFolder(dir);
        this.#known.set(dir, folder);
      }
      if (!folder) return dir;
    }
    return null;
  }

  #isFolder(dir: string): boolean {
    try {
      return lstatSync(join(this.#root, dir)).isDirectory();
    } catch (err) {
      if (isNotFound(err)) return false;
      // Not searchable (EACCES): the path's own stat says so, and is reported as unreadable.
      return true;
    }
  }
}
