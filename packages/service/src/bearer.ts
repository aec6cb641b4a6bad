import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when the Authorization header carries `Bearer <expected>`; compares in constant time. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer[ ]+(\S.*)$/i.exec(header ?? '');
  const same = secretMatches(match?.[1]?.trim() ?? '', expected);
  return match !== null && same;
}

/** True when `given` is `expected`, compared in constant time (a missing one never matches). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  // Comparing fixed-length digests keeps the time independent of where, or whether, they differ.
  const same = timingSafeEqual(digest(given ?? ''), digest(expected));
  return given !== undefined && same;
}
