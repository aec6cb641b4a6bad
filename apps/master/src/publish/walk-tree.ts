import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isIgnoredPath } from '../watch/ignore-rules.js';
import { isNotFound } from './read-file.js';

/** Every regular file under `dir` (relative to root, POSIX separators); symlinks are not followed. */
export async function* walkFiles(root: string, relDir = ''): AsyncGenerator<string> {
  let items: Dirent[];
  try {
    items = await readdir(relDir === '' ? root : join(root, relDir), { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const item of items) {
    const rel = relDir === '' ? item.name : `${relDir}/${item.name}`;
    if (isIgnoredPath(rel)) continue;
    if (item.isDirectory()) yield* walkFiles(root, rel);
    else if (item.isFile()) yield rel;
  }
}
