import type { Change, Tree } from '@outpost/core';

/** A put that would make a path both a file and a folder of the version. */
export interface Clash {
  /** The put to hold back. */
  put: string;
  /** The path that is a file in one view and a folder in the other: what is on disk there settles it. */
  recheck: string;
}

/**
 * The puts of a batch that would leave the next version holding a file and, under the same
 * name, a folder with files in it (`ss` beside `ss/in`): no disk can hold that tree, a
 * replica could not serve both, and readers of `ss` got a file deleted long ago. Each batch is
 * checked: it costs the depth of each changed path.
 */
export function fileDirClashes(
  tree: { entries: Tree; dirs: ReadonlyMap<string, number> },
  changes: ReadonlyMap<string, Change>,
): Clash[] {
  // Files the tree holds under each folder that the batch deletes.
  const emptied = new Map<string, number>();
  for (const c of changes.values()) {
    if (c.op !== 'delete' || !tree.entries.has(c.path)) continue;
    for (const dir of ancestors(c.path)) emptied.set(dir, (emptied.get(dir) ?? 0) + 1);
  }
  const isFile = (path: string) => {
    const c = changes.get(path);
    return c ? c.op === 'put' : tree.entries.has(path);
  };
  const clashes: Clash[] = [];
  for (const c of changes.values()) {
    if (c.op !== 'put') continue;
    const path = c.entry.path;
    const file = ancestors(path).find(isFile);
    if (file !== undefined) clashes.push({ put: path, recheck: file });
    else if ((tree.dirs.get(path) ?? 0) > (emptied.get(path) ?? 0))
      clashes.push({ put: path, recheck: path });
  }
  return clashes;
}

/** The folders a path lies in: `a/b/c` → `a`, `a/b`. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1))
    out.push(path.slice(0, slash));
  return out;
}
