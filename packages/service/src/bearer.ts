import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when the Authorization header carries `Bearer <expected>`; compares in constant time. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  return bearerIndex(header, [expected]) === 0;
}

/**
 * Which of the `accepted` tokens the Authorization header carries (its index), or -1 for none.
 * Every token is compared, each in constant time, whichever matches.
 */
export function bearerIndex(header: string | undefined, accepted: readonly string[]): number {
  const match = /^Bearer[ ]+(\S.*)$/i.exec(header ?? '');
  const given = match?.[1]?.trim() ?? '';
  let found = -1;
  accepted.forEach((token, i) => {
    if (secretMatches(given, token) && found === -1) found = i;
  });
  return match === null ? -1 : found;
}

/** True when `given` is `expected`, compared in constant time (a missing one never matches). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  // Comparing fixed-length digests keeps the time independent of where, or whether, they differ.
  const same = timingSafeEqual(digest(given ?? ''), digest(expected));
  return given !== undefined && same;
}
