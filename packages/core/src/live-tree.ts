import type { Change } from './diff.js';
import type { Tree, TreeEntry } from './entry.js';
import { RootAccumulator } from './merkle.js';
import { foldCase } from './paths.js';

/** What a batch of changes would make of a tree; `commit()` makes it so. */
export interface TreePlan {
  root: string;
  files: number;
  bytes: number;
  /** The changes that do something, deletes of absent paths and puts of identical entries left out. */
  effective: Change[];
  commit: () => void;
}

/**
 * A version's tree kept up to date change by change, with what is derived from it: the root,
 * totals, case-folded paths and directory counts. Every update costs the size of the change,
 * never the size of the tree: a one-file edit in a 100,000-file tree copies nothing.
 */
export class LiveTree {
  readonly #entries = new Map<string, TreeEntry>();
  /** Every path by its case-folded form. */
  readonly #folded = new Map<string, string>();
  /** Directories ("a", "a/b") with the number of files under them. */
  readonly #dirs = new Map<string, number>();
  /** Every directory by its case-folded form. */
  readonly #foldedDirs = new Map<string, string>();
  readonly #root: RootAccumulator;
  #bytes = 0;

  constructor(entries: Iterable<TreeEntry> = []) {
    for (const e of entries) {
      this.#entries.set(e.path, e);
      this.#index(e, 1);
    }
    this.#root = RootAccumulator.of(this.#entries.values());
  }

  /** The entries by path: a live view, changed in place by `commit()`. */
  get entries(): Tree {
    return this.#entries;
  }

  get root(): string {
    return this.#root.root;
  }

  get files(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Directories ("a", "a/b": no slashes at the ends) with the number of files under each: a live view. */
  get dirs(): ReadonlyMap<string, number> {
    return this.#dirs;
  }

  /** True when some file lies under `dir` ("a/b", no slashes at the ends). */
  hasDir(dir: string): boolean {
    return this.#dirs.has(dir);
  }

  /** The path the tree holds under the same case-folded form, if any. */
  foldedTwin(path: string): string | undefined {
    return this.#folded.get(foldCase(path));
  }

  /** The directory the tree holds under the same case-folded form as `dir`, if any. */
  foldedDirTwin(dir: string): string | undefined {
    return this.#foldedDirs.get(foldCase(dir));
  }

  /**
   * The first pair of paths the tree holds that differ only in case, or null: for a tree built
   * whole from entries no one checked (a full manifest), where the check costs nothing when
   * there is no such pair.
   */
  caseTwins(): [string, string] | null {
    if (this.#folded.size === this.#entries.size) return null;
    for (const path of this.#entries.keys()) {
      const kept = this.#folded.get(foldCase(path));
      if (kept !== undefined && kept !== path) return [kept, path];
    }
    return null;
  }

  /**
   * The first pair of paths that would differ only in case after `changes`, or null. A tree
   * changed by plans never holds such a pair.
   */
  caseCollision(changes: Iterable<Change>): [string, string] | null {
    const deleted = new Set<string>();
    const puts: string[] = [];
    for (const c of changes) {
      if (c.op === 'delete') deleted.add(c.path);
      else {
        deleted.delete(c.entry.path);
        puts.push(c.entry.path);
      }
    }
    const claimed = new Map<string, string>();
    for (const path of puts) {
      const key = foldCase(path);
      const kept = this.#folded.get(key);
      const other = kept !== undefined && kept !== path && !deleted.has(kept) ? kept : claimed.get(key);
      if (other !== undefined && other !== path) return [other, path];
      claimed.set(key, path);
    }
    return null;
  }

  /** What `changes` (in order; later ones win) would give, without changing the tree. */
  plan(changes: Iterable<Change>): TreePlan {
    // The net change per path: the last word on each path is what counts. The changes
    // themselves are kept, not copies: a first sync plans 100,000 of them at once.
    const net = new Map<string, Change>();
    for (const c of changes) net.set(c.op === 'delete' ? c.path : c.entry.path, c);
    const removed: TreeEntry[] = [];
    const added: TreeEntry[] = [];
    const effective: Change[] = [];
    let files = this.#entries.size;
    let bytes = this.#bytes;
    for (const [path, c] of net) {
      const old = this.#entries.get(path);
      if (c.op === 'delete') {
        if (!old) continue;
        removed.push(old);
        effective.push(c);
        files--;
        bytes -= old.size;
        continue;
      }
      const next = c.entry;
      if (old && old.hash === next.hash && old.size === next.size && old.mtime === next.mtime) continue;
      if (old) {
        removed.push(old);
        bytes -= old.size;
      } else files++;
      added.push(next);
      bytes += next.size;
      effective.push(c);
    }
    // An entry whose path, size and hash are unchanged (a new mtime) leaves the root alone.
    const sameLeaf = (a: TreeEntry, b: TreeEntry) => a.size === b.size && a.hash === b.hash;
    const rootRemoved = removed.filter((old) => {
      const c = net.get(old.path);
      return !(c?.op === 'put' && sameLeaf(old, c.entry));
    });
    const rootAdded = added.filter((next) => {
      const old = this.#entries.get(next.path);
      return !(old && sameLeaf(old, next));
    });
    const root = this.#root.preview(rootRemoved, rootAdded);
    // The commit below needs only the effective changes: let the rest go now.
    net.clear();
    return {
      root: root.root,
      files,
      bytes,
      effective,
      commit: () => {
        root.apply();
        for (const c of effective) {
          const path = c.op === 'delete' ? c.path : c.entry.path;
          const old = this.#entries.get(path);
          if (old) {
            this.#index(old, -1);
            this.#entries.delete(path);
          }
          if (c.op === 'put') {
            this.#entries.set(path, c.entry);
            this.#index(c.entry, 1);
          }
        }
      },
    };
  }

  /** Counts an entry in (+1) or out (-1) of the totals, the folded paths and the directories. */
  #index(e: TreeEntry, sign: 1 | -1) {
    this.#bytes += sign * e.size;
    const key = foldCase(e.path);
    if (sign > 0) this.#folded.set(key, e.path);
    else if (this.#folded.get(key) === e.path) this.#folded.delete(key);
    for (let slash = e.path.lastIndexOf('/'); slash > 0; slash = e.path.lastIndexOf('/', slash - 1)) {
      const dir = e.path.slice(0, slash);
      const n = (this.#dirs.get(dir) ?? 0) + sign;
      if (n > 0) this.#dirs.set(dir, n);
      else this.#dirs.delete(dir);
      // Folded once when a directory appears or goes, not for every file under it.
      if (n === 1 && sign > 0) this.#foldedDirs.set(foldCase(dir), dir);
      else if (n === 0) {
        const key = foldCase(dir);
        if (this.#foldedDirs.get(key) === dir) this.#foldedDirs.delete(key);
      }
    }
  }
}
