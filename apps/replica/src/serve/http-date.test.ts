import { describe, expect, it } from 'vitest';
import { parseHttpDate } from './http-date.js';

const T = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = Date.UTC(2025, 5, 1);

describe('parseHttpDate', () => {
  // The three formats RFC 9110 §5.6.7 says a recipient MUST accept, all naming the same instant.
  it.each(['Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994'])(
    'reads %j',
    (value) => {
      expect(parseHttpDate(value, NOW)).toBe(T);
    },
  );

  it('reads what Date#toUTCString writes (Last-Modified), to the second', () => {
    const ms = Date.UTC(2024, 1, 29, 23, 59, 59);
    expect(parseHttpDate(new Date(ms).toUTCString())).toBe(ms);
  });

  it('reads an RFC 850 year more than 50 years ahead as the latest past one', () => {
    expect(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT', NOW)).toBe(Date.UTC(2070, 0, 1));
    expect(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', NOW)).toBe(Date.UTC(1976, 0, 1));
    expect(parseHttpDate('Friday, 31-Dec-99 23:59:59 GMT', NOW)).toBe(Date.UTC(1999, 11, 31, 23, 59, 59));
  });

  it('reads years before 100 as they are', () => {
    expect(new Date(parseHttpDate('Mon, 01 Jan 0094 00:00:00 GMT')!).getUTCFullYear()).toBe(94);
  });

  it('takes a leap second', () => {
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')).toBe(Date.UTC(2017, 0, 1));
  });

  // What Date.parse reads as a date and RFC 9110 does not: each must be ignored, not guessed at.
  it.each([
    '1',
    '0',
    '2030',
    '12/31/2030',
    '2030-12-31',
    '2030-12-31T00:00:00Z',
    'Dec 31 2030',
    'yesterday',
    '',
    ' ',
    // near misses of each format
    'Sun, 06 Nov 1994 08:49:37',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37 +0000',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun 06 Nov 1994 08:49:37 GMT',
    'Sun,  06 Nov 1994 08:49:37 GMT',
    'sun, 06 nov 1994 08:49:37 gmt',
    'Sunday, 06 Nov 1994 08:49:37 GMT',
    'Sun, 06-Nov-94 08:49:37 GMT',
    'Sunday, 06-Nov-1994 08:49:37 GMT',
    'Sun Nov 6 08:49:37 1994',
    'Sun Nov  6 08:49:37 1994 GMT',
    'Sun, 06 Nov 1994 8:49:37 GMT',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sun, 06 Nox 1994 08:49:37 GMT',
    'Xyz, 06 Nov 1994 08:49:37 GMT',
    // out of range
    'Sun, 00 Nov 1994 08:49:37 GMT',
    'Sun, 31 Nov 1994 08:49:37 GMT',
    'Sun, 29 Feb 2023 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 06 Nov 1994 08:49:61 GMT',
    // digits other than ASCII ones
    'Sun, ٠٦ Nov 1994 08:49:37 GMT',
  ])('ignores %j', (value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined();
  });
});
