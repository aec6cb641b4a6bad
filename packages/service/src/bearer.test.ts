import { describe, expect, it } from 'vitest';
import { bearerIndex, bearerMatches, secretMatches } from './bearer.js';

describe('bearerIndex', () => {
  it('names which accepted token the header carries', () => {
    expect(bearerIndex('Bearer new-token', ['new-token', 'old-token'])).toBe(0);
    expect(bearerIndex('Bearer old-token', ['new-token', 'old-token'])).toBe(1);
    expect(bearerIndex('bearer   old-token  ', ['new-token', 'old-token'])).toBe(1);
  });

  it('finds none for another token, a prefix of one, another scheme, or no header', () => {
    for (const header of [
      'Bearer other',
      'Bearer new-toke',
      'Bearer new-token2',
      'Basic new-token',
      'new-token',
      'Bearer ',
      '',
      undefined,
    ]) {
      expect(bearerIndex(header, ['new-token', 'old-token']), String(header)).toBe(-1);
    }
    expect(bearerIndex('Bearer new-token', [])).toBe(-1);
  });

  it('takes the first of two equal tokens', () => {
    expect(bearerIndex('Bearer same', ['same', 'same'])).toBe(0);
  });
});

describe('bearerMatches and secretMatches', () => {
  it('match the one expected token only', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cret!', 's3cret')).toBe(false);
    expect(secretMatches('s3cret', 's3cret')).toBe(true);
    expect(secretMatches(undefined, 's3cret')).toBe(false);
    expect(secretMatches('', 's3cret')).toBe(false);
  });
});
