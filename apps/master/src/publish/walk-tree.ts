import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isIgnoredPath } from '../watch/ignore-rules.js';
import { isNotFound } from './read-file.js';

/**
 * Every regular file under `relDir` (relative to root, POSIX separators); symlinks are not
 * followed. A directory that cannot be read is reported to `onError` and skipped.
 */
export async function* walkFiles(
  root: string,
  relDir = '',
  onError: (relDir: string, err: NodeJS.ErrnoException) => void = () => undefined,
): AsyncGenerator<string> {
  let items: Dirent[];
  try {
    items = await readdir(relDir === '' ? root : join(root, relDir), { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EIO') {
      onError(relDir, err as NodeJS.ErrnoException);
      return;
    }
    throw err;
  }
  for (const item of items) {
    const rel = relDir === '' ? item.name : `${relDir}/${item.name}`;
    if (isIgnoredPath(rel)) continue;
    if (item.isDirectory()) yield* walkFiles(root, rel, onError);
    else if (item.isFile()) yield rel;
  }
}
