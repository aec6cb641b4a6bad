import { contentPathProblem } from '@outpost/core';

/** What a request target asks for: a file, a directory (trailing slash), or nothing valid. */
export type RequestPath =
  | { kind: 'file'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'bad'; reason: string };

const ENCODED_SEPARATOR = /%(?:2f|5c)/i;

/**
 * Decodes a request target once and checks it is a clean tree path. Nothing here ever touches
 * a filesystem: the result is only ever a key for the version's in-memory map.
 */
export function parseRequestPath(target: string): RequestPath {
  const q = target.indexOf('?');
  const raw = q === -1 ? target : target.slice(0, q);
  if (!raw.startsWith('/')) return { kind: 'bad', reason: 'request target must be an absolute path' };
  if (ENCODED_SEPARATOR.test(raw)) return { kind: 'bad', reason: 'encoded path separator' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { kind: 'bad', reason: 'malformed percent-encoding' };
  }
  const rel = decoded.slice(1);
  if (rel === '') return { kind: 'dir', path: '' };
  const isDir = rel.endsWith('/');
  const path = isDir ? rel.slice(0, -1) : rel;
  const problem = contentPathProblem(path);
  if (problem) return { kind: 'bad', reason: problem };
  return isDir ? { kind: 'dir', path } : { kind: 'file', path };
}
