import { LiveTree, type Tree, type TreeEntry } from '@outpost/core';

/**
 * One complete version as readers see it. Its numbers never change; its tree and directories
 * are the replica's live ones, updated in place at the switch to the next version (copying
 * a 100,000-file tree per version would cost the tree, not the change). So a reader takes the
 * snapshot once per request and does all its lookups in that same synchronous step.
 */
export interface Snapshot {
  readonly version: number;
  readonly root: string;
  readonly tree: Tree;
  /** Every directory of the tree ("a", "a/b") with its file count, so `/a` can redirect to `/a/`. */
  readonly dirs: ReadonlyMap<string, number>;
  readonly files: number;
  readonly bytes: number;
  /** The tree the next version is planned on. */
  readonly live: LiveTree;
}

/** The snapshot of a version whose tree `live` now holds. */
export function snapshotOf(version: number, live: LiveTree): Snapshot {
  return {
    version,
    root: live.root,
    tree: live.entries,
    dirs: live.dirs,
    files: live.files,
    bytes: live.bytes,
    live,
  };
}

/** Builds the snapshot of a version from a copy of its tree. */
export function makeSnapshot(version: number, tree: Iterable<TreeEntry>): Snapshot {
  return snapshotOf(version, new LiveTree(tree));
}

/** The snapshot of a replica that holds nothing yet (a fresh one each time: trees are live). */
export function emptySnapshot(): Snapshot {
  return makeSnapshot(0, []);
}
