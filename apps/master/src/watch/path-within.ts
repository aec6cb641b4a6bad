import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** Where a path leads, symlinks resolved as far as it exists (a path not made yet keeps its tail). */
export function realpathLoose(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realpathLoose(parent), basename(abs));
  }
}

/** True when `inner` is `outer` or lies under it, symlinks resolved. */
export function isWithin(inner: string, outer: string): boolean {
  const rel = relative(realpathLoose(outer), realpathLoose(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
