/** Limits on content paths, the same on both sides. */
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
/** The top-level name reserved for Outpost's own endpoints. */
export const RESERVED_TOP = '_outpost';

// C0 controls, DEL and C1 controls never belong in a published path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a relative content path is unacceptable, or null when it is fine. A good path is
 * POSIX-style (`a/b/c.txt`), relative, normalised, with no `.`/`..`/empty segments, no
 * backslash, no control characters, and not under the reserved top-level `_outpost`.
 */
export function contentPathProblem(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (LONE_SURROGATE.test(path)) return 'not valid Unicode';
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`;
  if (CONTROL.test(path)) return 'control character';
  if (path.includes('\\')) return 'backslash';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive letter';
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return 'dot segment';
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)
      return `segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  if (segments[0]!.toLowerCase() === RESERVED_TOP) return `reserved top-level name ${RESERVED_TOP}`;
  return null;
}

/** True when the path may be published and served. */
export function isContentPath(path: string): boolean {
  return contentPathProblem(path) === null;
}

/** The form two paths share when a case-insensitive filesystem would take them for one. */
export function foldCase(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

/** The first pair of paths that differ only in case, or null. */
export function findCaseCollision(paths: Iterable<string>): [string, string] | null {
  const seen = new Map<string, string>();
  for (const path of paths) {
    const key = foldCase(path);
    const other = seen.get(key);
    if (other !== undefined && other !== path) return [other, path];
    seen.set(key, path);
  }
  return null;
}
