import { describe, expect, it } from 'vitest';
import { evaluatePreconditions } from './preconditions.js';

const ETAG = '"abc123"';
// 12:00:00.750 UTC: HTTP dates have second precision, so this counts as 12:00:00.
const MTIME = Date.UTC(2024, 0, 15, 12, 0, 0, 750);
const v = { etag: ETAG, mtimeMs: MTIME };

const AT = 'Mon, 15 Jan 2024 12:00:00 GMT';
const BEFORE = 'Mon, 15 Jan 2024 11:59:59 GMT';
const AFTER = 'Mon, 15 Jan 2024 12:00:01 GMT';

describe('evaluatePreconditions', () => {
  it('proceeds without conditional headers', () => {
    expect(evaluatePreconditions({}, v)).toBe('proceed');
    expect(evaluatePreconditions({ accept: '*/*', 'if-range': ETAG }, v)).toBe('proceed');
  });

  describe('If-Match (strong comparison)', () => {
    it.each([
      [ETAG, 'proceed'],
      ['*', 'proceed'],
      ['"other", "abc123"', 'proceed'],
      ['"other","abc123"', 'proceed'],
      ['  "abc123"  ', 'proceed'],
      ['"other"', 'failed'],
      ['"other", "another"', 'failed'],
      ['W/"abc123"', 'failed'],
      ['W/"abc123", "other"', 'failed'],
      ['"abc"', 'failed'],
      ['abc123', 'failed'],
    ])('If-Match %j → %s', (header, expected) => {
      expect(evaluatePreconditions({ 'if-match': header }, v)).toBe(expected);
    });

    it('cannot match a weak current ETag even with the same opaque tag', () => {
      expect(
        evaluatePreconditions({ 'if-match': 'W/"abc123"' }, { etag: 'W/"abc123"', mtimeMs: MTIME }),
      ).toBe('failed');
    });

    it('fails before If-None-Match is looked at (412 beats 304)', () => {
      expect(evaluatePreconditions({ 'if-match': '"other"', 'if-none-match': ETAG }, v)).toBe('failed');
      expect(evaluatePreconditions({ 'if-match': '"other"', 'if-modified-since': AFTER }, v)).toBe('failed');
    });

    it('when it passes, If-None-Match still decides', () => {
      expect(evaluatePreconditions({ 'if-match': ETAG, 'if-none-match': ETAG }, v)).toBe('not-modified');
      expect(evaluatePreconditions({ 'if-match': '*', 'if-none-match': '"other"' }, v)).toBe('proceed');
    });
  });

  describe('If-Unmodified-Since', () => {
    it('fails when the resource changed after the date', () => {
      expect(evaluatePreconditions({ 'if-unmodified-since': BEFORE }, v)).toBe('failed');
    });

    it('proceeds when not modified since (same second, sub-second mtime ignored) or later', () => {
      expect(evaluatePreconditions({ 'if-unmodified-since': AT }, v)).toBe('proceed');
      expect(evaluatePreconditions({ 'if-unmodified-since': AFTER }, v)).toBe('proceed');
    });

    it('is ignored when If-Match is present (RFC 9110 §13.2.2 step 2)', () => {
      expect(evaluatePreconditions({ 'if-match': ETAG, 'if-unmodified-since': BEFORE }, v)).toBe('proceed');
      expect(evaluatePreconditions({ 'if-match': '*', 'if-unmodified-since': BEFORE }, v)).toBe('proceed');
    });

    // RFC 9110 §13.1.4: a value that is no valid HTTP-date MUST be ignored. Date.parse reads
    // `1` as the year 2001 (and so fails the condition), and 2024-01-15 as midnight.
    it.each([
      'not a date',
      '',
      'yesterday',
      '2024-13-45',
      '1',
      '2024-01-15',
      '01/15/2024',
      'Mon, 15 Jan 2024 11:59:59 +0000',
    ])('ignores the invalid date %j', (date) => {
      expect(evaluatePreconditions({ 'if-unmodified-since': date }, v)).toBe('proceed');
    });

    it('reads the obsolete RFC 850 and asctime formats too', () => {
      expect(evaluatePreconditions({ 'if-unmodified-since': 'Monday, 15-Jan-24 11:59:59 GMT' }, v)).toBe(
        'failed',
      );
      expect(evaluatePreconditions({ 'if-unmodified-since': 'Mon Jan 15 11:59:59 2024' }, v)).toBe('failed');
    });

    it('fails before If-None-Match is looked at', () => {
      expect(evaluatePreconditions({ 'if-unmodified-since': BEFORE, 'if-none-match': ETAG }, v)).toBe(
        'failed',
      );
    });
  });

  describe('If-None-Match (weak comparison)', () => {
    it.each([
      [ETAG, 'not-modified'],
      ['W/"abc123"', 'not-modified'],
      ['*', 'not-modified'],
      ['"x", "abc123"', 'not-modified'],
      ['"x"', 'proceed'],
      ['"x", W/"y"', 'proceed'],
    ])('If-None-Match %j → %s', (header, expected) => {
      expect(evaluatePreconditions({ 'if-none-match': header }, v)).toBe(expected);
    });

    it('beats If-Modified-Since both ways', () => {
      // A miss proceeds even though the date alone would give 304.
      expect(evaluatePreconditions({ 'if-none-match': '"x"', 'if-modified-since': AFTER }, v)).toBe(
        'proceed',
      );
      // A hit is 304 even though the date alone would proceed.
      expect(evaluatePreconditions({ 'if-none-match': ETAG, 'if-modified-since': BEFORE }, v)).toBe(
        'not-modified',
      );
    });
  });

  describe('If-Modified-Since', () => {
    it('is 304 when not modified since the date (second precision)', () => {
      expect(evaluatePreconditions({ 'if-modified-since': AT }, v)).toBe('not-modified');
      expect(evaluatePreconditions({ 'if-modified-since': AFTER }, v)).toBe('not-modified');
    });

    it('proceeds when modified since the date', () => {
      expect(evaluatePreconditions({ 'if-modified-since': BEFORE }, v)).toBe('proceed');
    });

    // RFC 9110 §13.1.3: a value that is no valid HTTP-date MUST be ignored. Date.parse reads
    // each of the last three as a date after the mtime, which gave 304.
    it.each(['garbage', '', 'Mon, 99 Foo 2024', '2030', '12/31/2030', '2030-12-31T00:00:00Z'])(
      'ignores the invalid date %j',
      (date) => {
        expect(evaluatePreconditions({ 'if-modified-since': date }, v)).toBe('proceed');
      },
    );

    it('reads the obsolete RFC 850 and asctime formats too', () => {
      expect(evaluatePreconditions({ 'if-modified-since': 'Monday, 15-Jan-24 12:00:00 GMT' }, v)).toBe(
        'not-modified',
      );
      expect(evaluatePreconditions({ 'if-modified-since': 'Mon Jan 15 12:00:00 2024' }, v)).toBe(
        'not-modified',
      );
    });

    it('is looked at after a passing If-Unmodified-Since', () => {
      expect(evaluatePreconditions({ 'if-unmodified-since': AFTER, 'if-modified-since': AT }, v)).toBe(
        'not-modified',
      );
    });
  });
});
