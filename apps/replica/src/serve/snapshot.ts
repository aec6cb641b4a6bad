import { EMPTY_ROOT, type Tree, type TreeEntry } from '@outpost/core';

/** One complete version as readers see it; replaced whole, never changed in place. */
export interface Snapshot {
  readonly version: number;
  readonly root: string;
  readonly tree: Tree;
  /** Every directory of the tree ("a", "a/b"), so `/a` can redirect to `/a/`. */
  readonly dirs: ReadonlySet<string>;
  readonly files: number;
  readonly bytes: number;
}

/** Builds the snapshot of a version from its tree. */
export function makeSnapshot(version: number, root: string, tree: ReadonlyMap<string, TreeEntry>): Snapshot {
  const dirs = new Set<string>();
  let bytes = 0;
  for (const entry of tree.values()) {
    bytes += entry.size;
    let slash = entry.path.lastIndexOf('/');
    while (slash > 0) {
      const dir = entry.path.slice(0, slash);
      if (dirs.has(dir)) break;
      dirs.add(dir);
      slash = dir.lastIndexOf('/');
    }
  }
  return { version, root, tree, dirs, files: tree.size, bytes };
}

/** The snapshot of a replica that holds nothing yet. */
export const EMPTY_SNAPSHOT: Snapshot = makeSnapshot(0, EMPTY_ROOT, new Map());
