import { type Change, foldCase } from '@outpost/core';

const REFUSAL = 'differs only in ';

/**
 * Why `path` is refused beside `other`, a path it folds onto (see foldCase). Two names that
 * differ only in their Unicode normalisation (`café` composed or decomposed) look the same to
 * a reader: "differs only in case" sent them hunting for a capital letter that is not there.
 */
export function twinRefusal(path: string, other: string): string {
  const sameLetters = path.normalize('NFC') === other.normalize('NFC');
  const sameForm = path.toLowerCase() === other.toLowerCase();
  const how = sameLetters ? 'Unicode normalisation' : sameForm ? 'case' : 'case and Unicode normalisation';
  return `${REFUSAL}${how} from ${other}`;
}

/**
 * The paths refused as twins of a path the batch's `changes` delete, and not in them already:
 * with that path gone, nothing shuts them out any more, and they are looked at again in the
 * same batch (a twin left refused stayed unpublished until something touched it).
 */
export function twinsFreedBy(
  problems: ReadonlyMap<string, string>,
  changes: ReadonlyMap<string, Change>,
): string[] {
  // A deleted path frees its twin, and so do its folders (a file refused beside a folder whose
  // last file goes) and it as a folder (a file's path under it refused beside the file).
  const deleted = new Set<string>();
  for (const c of changes.values()) {
    if (c.op !== 'delete') continue;
    const key = foldCase(c.path);
    deleted.add(key);
    for (let at = key.indexOf('/'); at !== -1; at = key.indexOf('/', at + 1)) deleted.add(key.slice(0, at));
  }
  if (deleted.size === 0) return [];
  const freed: string[] = [];
  for (const [path, problem] of problems) {
    if (!problem.startsWith(REFUSAL) || changes.has(path)) continue;
    const key = foldCase(path);
    let hit = deleted.has(key);
    for (let at = key.indexOf('/'); !hit && at !== -1; at = key.indexOf('/', at + 1))
      hit = deleted.has(key.slice(0, at));
    if (hit) freed.push(path);
  }
  return freed;
}
