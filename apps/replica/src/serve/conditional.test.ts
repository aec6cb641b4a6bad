import { describe, expect, it } from 'vitest';
import { noneMatchHits, notModifiedSince, parseEtagList } from './conditional.js';

const ETAG = '"4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"';

describe('parseEtagList', () => {
  it('splits a list, trims and drops empty members', () => {
    expect(parseEtagList('"a", W/"b" ,,  *,"c"')).toEqual(['"a"', 'W/"b"', '*', '"c"']);
    expect(parseEtagList('"only"')).toEqual(['"only"']);
    expect(parseEtagList('')).toEqual([]);
    expect(parseEtagList(' , ')).toEqual([]);
  });
});

describe('noneMatchHits', () => {
  it('matches the same tag', () => {
    expect(noneMatchHits(ETAG, ETAG)).toBe(true);
  });

  it('matches one of a list', () => {
    expect(noneMatchHits(`"other", ${ETAG}`, ETAG)).toBe(true);
    expect(noneMatchHits(`"other",${ETAG},"third"`, ETAG)).toBe(true);
  });

  it('compares weakly: W/ on either side still matches', () => {
    expect(noneMatchHits(`W/${ETAG}`, ETAG)).toBe(true);
    expect(noneMatchHits(ETAG, `W/${ETAG}`)).toBe(true);
    expect(noneMatchHits(`W/${ETAG}`, `W/${ETAG}`)).toBe(true);
  });

  it('matches * whatever the tag', () => {
    expect(noneMatchHits('*', ETAG)).toBe(true);
    expect(noneMatchHits('"x", *', ETAG)).toBe(true);
  });

  it('does not match another tag, a near miss or nothing', () => {
    expect(noneMatchHits('"other"', ETAG)).toBe(false);
    expect(noneMatchHits(ETAG.slice(0, -2) + '"', ETAG)).toBe(false);
    expect(noneMatchHits(ETAG.slice(1, -1), ETAG)).toBe(false);
    expect(noneMatchHits(ETAG.toUpperCase(), ETAG)).toBe(false);
    expect(noneMatchHits('w/' + ETAG, ETAG)).toBe(false);
    expect(noneMatchHits('', ETAG)).toBe(false);
    expect(noneMatchHits('"a", "b"', ETAG)).toBe(false);
  });
});

describe('notModifiedSince', () => {
  const mtime = Date.UTC(2024, 4, 17, 9, 30, 15, 750);
  const http = (ms: number) => new Date(ms).toUTCString();

  it('is not modified since its own Last-Modified date (whole seconds)', () => {
    expect(http(mtime)).toBe('Fri, 17 May 2024 09:30:15 GMT');
    expect(notModifiedSince(http(mtime), mtime)).toBe(true);
  });

  it('is not modified since a later date', () => {
    expect(notModifiedSince(http(mtime + 1_000), mtime)).toBe(true);
    expect(notModifiedSince(http(mtime + 86_400_000), mtime)).toBe(true);
  });

  it('is modified since an earlier date', () => {
    expect(notModifiedSince(http(mtime - 1_000), mtime)).toBe(false);
    expect(notModifiedSince('Fri, 17 May 2024 09:30:14 GMT', mtime)).toBe(false);
  });

  it('ignores a date it cannot read', () => {
    expect(notModifiedSince('yesterday', mtime)).toBe(false);
    expect(notModifiedSince('', mtime)).toBe(false);
  });

  it('ignores what Date.parse reads but is no HTTP-date (RFC 9110 §13.1.3)', () => {
    for (const value of ['2030', '12/31/2030', '2030-12-31', 'Fri, 17 May 2030 09:30:15 +0000']) {
      expect(notModifiedSince(value, mtime), value).toBe(false);
    }
  });
});
