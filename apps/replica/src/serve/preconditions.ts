import { noneMatchHits, notModifiedSince, parseEtagList } from './conditional.js';
import { parseHttpDate } from './http-date.js';

/** What the conditional headers of a GET/HEAD decide (RFC 9110 §13.2.2). */
export type PreconditionOutcome = 'proceed' | 'not-modified' | 'failed';

export interface Validators {
  /** The strong ETag of the representation, quoted. */
  etag: string;
  mtimeMs: number;
}

const isStrongMatch = (tag: string, etag: string) => !tag.startsWith('W/') && tag === etag;

/** True when the resource was modified after the given HTTP date; undefined for no valid HTTP-date. */
function modifiedSince(header: string, mtimeMs: number): boolean | undefined {
  const since = parseHttpDate(header);
  if (since === undefined) return undefined;
  return Math.floor(mtimeMs / 1000) * 1000 > since;
}

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order
 * RFC 9110 gives: a failed If-Match (strong comparison) or If-Unmodified-Since is 412; a hit
 * on If-None-Match (weak comparison) or an unmodified If-Modified-Since is 304.
 */
export function evaluatePreconditions(
  headers: Record<string, string | string[] | undefined>,
  v: Validators,
): PreconditionOutcome {
  const ifMatch = headers['if-match'];
  if (typeof ifMatch === 'string') {
    const tags = parseEtagList(ifMatch);
    if (!tags.some((t) => t === '*' || isStrongMatch(t, v.etag))) return 'failed';
  } else {
    const ius = headers['if-unmodified-since'];
    if (typeof ius === 'string' && modifiedSince(ius, v.mtimeMs) === true) return 'failed';
  }
  const inm = headers['if-none-match'];
  if (typeof inm === 'string') return noneMatchHits(inm, v.etag) ? 'not-modified' : 'proceed';
  const ims = headers['if-modified-since'];
  if (typeof ims === 'string' && notModifiedSince(ims, v.mtimeMs)) return 'not-modified';
  return 'proceed';
}
