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

/** True when the resource was not modified since the given HTTP date (second precision). */
export function notModifiedSince(header: string, mtimeMs: number): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(mtimeMs / 1000) * 1000 <= since;
}
