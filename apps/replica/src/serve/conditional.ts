import { parseHttpDate } from './http-date.js';

/** Splits an If-None-Match / If-Match list into entity tags; `*` stays as is. */
export function parseEtagList(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** RFC 9110 If-None-Match: true when the list matches the current ETag (weak comparison). */
export function noneMatchHits(header: string, etag: string): boolean {
  return parseEtagList(header).some((t) => t === '*' || opaque(t) === opaque(etag));
}

/**
 * True when the resource was not modified since the given HTTP date (second precision); false
 * when the header is no valid HTTP-date, which RFC 9110 §13.1.3 says to ignore.
 */
export function notModifiedSince(header: string, mtimeMs: number): boolean {
  const since = parseHttpDate(header);
  if (since === undefined) return false;
  return Math.floor(mtimeMs / 1000) * 1000 <= since;
}
