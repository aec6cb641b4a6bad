import { type Dirent, readdirSync } from 'node:fs';
import { isNotFound } from './read-file.js';

/** How Node shows each byte of a name that is not valid UTF-8. */
const REPLACEMENT = '\uFFFD';

/**
 * Why an entry of a directory listing cannot be published, or null. A name that is not valid
 * UTF-8 reaches us with U+FFFD in place of its bad bytes, a name no file has: without this it
 * looked like a file that vanished, and went unpublished without a word. A named pipe, socket
 * or device has no content to publish. (A symlink is judged by where it leads: resolve-link.ts.)
 */
export function entryProblem(item: Dirent, undecodable: ReadonlySet<string>): string | null {
  if (undecodable.size > 0 && undecodable.has(item.name)) return 'name is not valid UTF-8';
  return specialKind(item);
}

/** What a directory entry or an lstat names, when it is neither file, directory nor symlink. */
export function specialKind(x: Pick<Dirent, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>) {
  if (x.isFIFO()) return 'not a regular file: a named pipe';
  if (x.isSocket()) return 'not a regular file: a socket';
  if (x.isCharacterDevice() || x.isBlockDevice()) return 'not a regular file: a device';
  return null;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The names of a listing of `absDir` whose bytes on disk are not valid UTF-8, as Node decoded
 * them. Only a listing with U+FFFD in a name is read again, as bytes.
 */
export function undecodableNames(absDir: string, items: readonly { name: string }[]): ReadonlySet<string> {
  if (!items.some((i) => i.name.includes(REPLACEMENT))) return NONE;
  let raw: Buffer[];
  try {
    raw = readdirSync(absDir, { encoding: 'buffer' });
  } catch (err) {
    if (isNotFound(err)) return NONE;
    throw err;
  }
  const out = new Set<string>();
  for (const bytes of raw) {
    const name = bytes.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(bytes)) out.add(name);
  }
  return out;
}
