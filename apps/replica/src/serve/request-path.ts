import { contentPathProblem } from '@outpost/core';

/** What a request target asks for: a file, a directory (trailing slash), or nothing valid. */
export type RequestPath =
  | { kind: 'file'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'bad'; reason: string };

const ENCODED_SEPARATOR = /%(?:2f|5c)/i;
/** Runs of slashes, each read as one (as nginx's merge_slashes does): `/docs//a` is `/docs/a`. */
const SLASH_RUN = /\/{2,}/g;
/** The scheme and authority of an absolute-form target (RFC 9112 §3.2.2); the scheme is case-insensitive. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?]*)/i;

/**
 * Decodes a request target once and checks it is a clean tree path. Nothing here ever touches
 * a filesystem: the result is only ever a key for the version's in-memory map.
 */
export function parseRequestPath(target: string): RequestPath {
  if (target.charCodeAt(0) !== 47 /* '/' */) {
    const origin = originFormOf(target);
    if (typeof origin !== 'string') return origin;
    target = origin;
  }
  // A fragment is the client's, never a server's (RFC 9110 §4.2.5): a raw `#` ends the target.
  const fragment = target.indexOf('#');
  if (fragment !== -1) target = target.slice(0, fragment);
  const q = target.indexOf('?');
  // URLs glued as "$BASE/$FILE" with a base that ends in a slash are common; only raw slashes
  // are merged, an encoded one is still refused below.
  const raw = (q === -1 ? target : target.slice(0, q)).replace(SLASH_RUN, '/');
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

/**
 * The path and query of an absolute-form target (`http://host/a?b` → `/a?b`), which a server
 * MUST accept (RFC 9112 §3.2.2): proxies and some clients send it. The authority names no
 * file, so it is only checked for what RFC 9110 calls invalid (an empty host, §4.2.1; userinfo,
 * §4.2.4); the path that follows goes through every check an origin-form path does.
 */
export function originFormOf(target: string): string | { kind: 'bad'; reason: string } {
  const m = ABSOLUTE_FORM.exec(target);
  if (!m) return { kind: 'bad', reason: 'request target must be an absolute path' };
  const authority = m[1]!;
  if (authority === '') return { kind: 'bad', reason: 'no host in the request target' };
  if (authority.includes('@')) return { kind: 'bad', reason: 'userinfo in the request target' };
  const rest = target.slice(m[0].length);
  // An empty path is the root (RFC 9110 §4.2.3): `http://host?x` asks for `/?x`.
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
}
