import { describe, expect, it } from 'vitest';
import { ContentPath, EpochMs, Label, Sha256, VersionNumber } from './scalars.js';

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('Sha256', () => {
  it('accepts a lowercase hex SHA-256', () => {
    expect(Sha256.parse(SHA)).toBe(SHA);
  });

  it.each([
    ['uppercase', SHA.toUpperCase()],
    ['short', SHA.slice(1)],
    ['long', `${SHA}0`],
    ['non-hex', `z${SHA.slice(1)}`],
    ['empty', ''],
    ['a number', 1],
    ['null', null],
  ])('refuses %s', (_name, value) => {
    expect(Sha256.safeParse(value).success).toBe(false);
  });
});

describe('VersionNumber', () => {
  it.each([0, 1, 42, Number.MAX_SAFE_INTEGER])('accepts %s', (v) => {
    expect(VersionNumber.parse(v)).toBe(v);
  });

  it.each([-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY, '1', null])(
    'refuses %s',
    (v) => {
      expect(VersionNumber.safeParse(v).success).toBe(false);
    },
  );
});

describe('EpochMs', () => {
  it('accepts integer milliseconds from 0 to 8.64e15', () => {
    expect(EpochMs.parse(0)).toBe(0);
    expect(EpochMs.parse(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(EpochMs.parse(8.64e15)).toBe(8.64e15);
  });

  it.each([-1, 1.5, 8.64e15 + 1, '0'])('refuses %s', (v) => {
    expect(EpochMs.safeParse(v).success).toBe(false);
  });
});

describe('Label', () => {
  it.each(['a', 'uk', 'uk-london', 'asia-tokyo', '0', 'a1-b2-c3', 'x'.repeat(63), 'a--b'])(
    'accepts %j',
    (label) => {
      expect(Label.parse(label)).toBe(label);
    },
  );

  it.each([
    '',
    'UK',
    'uk-London',
    'uk_london',
    '-uk',
    'uk-',
    'uk.london',
    'uk london',
    'x'.repeat(64),
    'ü',
    'uk\n',
  ])('refuses %j', (label) => {
    expect(Label.safeParse(label).success).toBe(false);
  });
});

describe('ContentPath', () => {
  it('accepts a safe relative path', () => {
    expect(ContentPath.parse('docs/policy.pdf')).toBe('docs/policy.pdf');
    expect(ContentPath.parse('a/_outpost/x')).toBe('a/_outpost/x');
  });

  it.each([
    ['../etc/passwd', /dot segment/],
    ['a/../../b', /dot segment/],
    ['/etc/passwd', /absolute path/],
    ['C:/Windows', /drive letter/],
    ['a\\b', /backslash/],
    ['_outpost/ws', /reserved/],
    ['a\u0000b', /control character/],
    ['', /empty path/],
  ])('refuses %j with the reason', (path, reason) => {
    const result = ContentPath.safeParse(path);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.message).join(' ')).toMatch(reason);
  });

  it('refuses a very long string before looking at it', () => {
    expect(ContentPath.safeParse('a'.repeat(8193)).success).toBe(false);
    expect(ContentPath.safeParse(123).success).toBe(false);
  });
});
