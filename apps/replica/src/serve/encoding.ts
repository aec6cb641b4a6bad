/** Content codings the replica can serve, best first. */
export type Coding = 'br' | 'gzip';

const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|ecmascript|xml|xhtml\+xml|rss\+xml|atom\+xml|ld\+json|manifest\+json|wasm|x-sh|x-yaml|yaml|toml|rtf|postscript|x-tar)|image\/(?:svg\+xml|x-icon|bmp)|font\/(?:ttf|otf))/;

/** Bodies smaller than this are not worth a coding (headers would eat the gain). */
export const MIN_COMPRESS_BYTES = 256;
/** Bodies larger than this are served as they are (precomputing would cost too much). */
export const MAX_COMPRESS_BYTES = 16 * 1024 * 1024;

/** True when a type compresses well and the size is worth it. */
export function isCompressible(contentType: string, size: number): boolean {
  return size >= MIN_COMPRESS_BYTES && size <= MAX_COMPRESS_BYTES && COMPRESSIBLE.test(contentType);
}

/** A `q` parameter, whatever its value. */
const WEIGHT = /^\s*q\s*=\s*(.*?)\s*$/;
/** A qvalue as RFC 9110 §12.4.2 spells it: 0 to 1 with at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Picks the coding to serve from Accept-Encoding (RFC 9110 §12.5.3): the highest q-value
 * among br and gzip, br on a tie; none when neither is acceptable. `*` covers both.
 */
export function negotiateCoding(header: string | undefined): Coding | null {
  if (!header) return null;
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.trim().toLowerCase().split(';');
    // OWS may precede the ';' of a weight (RFC 9110 §12.4.2): "br ;q=0" still names br.
    const name = rawName?.trim();
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = WEIGHT.exec(p);
      // A weight that is no qvalue says nothing we can trust: that coding is not acceptable.
      if (m) weight = QVALUE.test(m[1]!) ? Number(m[1]) : 0;
    }
    q.set(name, weight);
  }
  const star = q.get('*');
  const br = q.get('br') ?? star ?? 0;
  const gzip = q.get('gzip') ?? q.get('x-gzip') ?? star ?? 0;
  if (br <= 0 && gzip <= 0) return null;
  return br >= gzip ? 'br' : 'gzip';
}

/** The ETag of a coded representation: distinct from the identity one, as RFC 9110 asks. */
export function codedEtag(hash: string, coding: Coding | null): string {
  return coding === null ? `"${hash}"` : `"${hash}-${coding === 'br' ? 'br' : 'gz'}"`;
}
