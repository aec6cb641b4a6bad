import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type IgnoreRule, isIgnoredPath } from '../watch/ignore-rules.js';
import { entryProblem, undecodableNames } from './entry-problem.js';
import { isNotFound } from './read-file.js';

/** How a directory that cannot be listed is reported. */
export const UNREADABLE_DIR = 'unreadable directory';

/**
 * The error code when `err` says a directory cannot be listed (permissions, I/O errors, a
 * path past the system's PATH_MAX), which is reported and skipped; null for any other error.
 */
export function unlistableCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EIO' || code === 'ENAMETOOLONG' ? code : null;
}

/** A regular file or a symlink the walk found (relative to root, POSIX separators). */
export interface WalkedPath {
  path: string;
  link: boolean;
}

/**
 * Every regular file and symlink under `relDir` that is not `ignored`; a symlink is reported, not followed. What cannot be published (a directory that cannot be read, a name that is not
 * UTF-8, a named pipe or device) is reported to `onProblem` and skipped; `unreadable` says it
 * was a directory that could not be read, whose files are then unknown, not gone.
 */
export async function* walkFiles(
  root: string,
  relDir = '',
  onProblem: (rel: string, problem: string, unreadable: boolean) => void = () => undefined,
  ignored: IgnoreRule = isIgnoredPath,
  onListed: (relDir: string) => void = () => undefined,
): AsyncGenerator<WalkedPath> {
  const abs = relDir === '' ? root : join(root, relDir);
  let items: Dirent[];
  try {
    items = await readdir(abs, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return;
    const code = unlistableCode(err);
    if (code) {
      onProblem(relDir, `${UNREADABLE_DIR}: ${code}`, true);
      return;
    }
    throw err;
  }
  onListed(relDir);
  const undecodable = undecodableNames(abs, items);
  for (const item of items) {
    const rel = relDir === '' ? item.name : `${relDir}/${item.name}`;
    if (ignored(rel)) continue;
    const problem = entryProblem(item, undecodable);
    if (problem) onProblem(rel, problem, false);
    else if (item.isDirectory()) yield* walkFiles(root, rel, onProblem, ignored, onListed);
    else if (item.isFile()) yield { path: rel, link: false };
    else if (item.isSymbolicLink()) yield { path: rel, link: true };
  }
}
