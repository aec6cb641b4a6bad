import type { Tree, TreeEntry } from './entry.js';
import { comparePaths } from './merkle.js';

/** A change between two versions: a put of a whole entry or a delete of a path. */
export type Change = { op: 'put'; entry: TreeEntry } | { op: 'delete'; path: string };

/** A rename found by diff: the content moved without changing, so no bytes need to travel. */
export interface Rename {
  from: string;
  to: string;
}

export interface TreeDiff {
  changes: Change[];
  renames: Rename[];
}

function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return a.hash === b.hash && a.size === b.size && a.mtime === b.mtime;
}

/** The changes that turn `from` into `to`, sorted by path; renames are reported beside them. */
export function diffTrees(from: Tree, to: Tree): TreeDiff {
  const changes: Change[] = [];
  const deletedByHash = new Map<string, string[]>();
  for (const [path, old] of from) {
    if (!to.has(path)) {
      changes.push({ op: 'delete', path });
      const list = deletedByHash.get(old.hash) ?? [];
      list.push(path);
      deletedByHash.set(old.hash, list);
    }
  }
  const renames: Rename[] = [];
  for (const [path, entry] of to) {
    const old = from.get(path);
    if (old && sameEntry(old, entry)) continue;
    changes.push({ op: 'put', entry });
    if (!old) {
      const source = deletedByHash.get(entry.hash)?.shift();
      if (source !== undefined) renames.push({ from: source, to: path });
    }
  }
  changes.sort((a, b) => comparePaths(changePath(a), changePath(b)));
  return { changes, renames };
}

/** The path a change touches. */
export function changePath(change: Change): string {
  return change.op === 'put' ? change.entry.path : change.path;
}

/** A new tree: `base` with the changes applied (base is not modified). */
export function applyChanges(base: Tree, changes: Iterable<Change>): Map<string, TreeEntry> {
  const next = new Map(base);
  for (const change of changes) {
    if (change.op === 'put') next.set(change.entry.path, change.entry);
    else next.delete(change.path);
  }
  return next;
}
