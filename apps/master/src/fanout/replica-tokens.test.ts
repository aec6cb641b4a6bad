import { describe, expect, it } from 'vitest';
import { parseReplicaTokens } from './replica-tokens.js';

describe('parseReplicaTokens', () => {
  it('reads NAME TOKEN lines, skipping blanks and comments', () => {
    const text =
      '# office tokens\nuk-london   7f3a9c1e5b2d4f60a8\r\n\n  asia-tokyo\tc0ffee00c0ffee00c0ffee\n';
    expect(parseReplicaTokens(text, 'tokens')).toEqual(
      new Map([
        ['7f3a9c1e5b2d4f60a8', 'uk-london'],
        ['c0ffee00c0ffee00c0ffee', 'asia-tokyo'],
      ]),
    );
    expect(parseReplicaTokens('', 'tokens').size).toBe(0);
  });

  it.each([
    ['uk-london', /tokens, line 1: expected NAME TOKEN, found 1 fields/],
    ['uk-london a b', /found 3 fields/],
    ['UK_London 7f3a9c1e5b2d4f60a8', /'UK_London' is no replica name/],
    ['uk-london short', /shorter than 16 characters/],
    ['uk-london 7f3a9c1e5b2d4f60a8\nuk-london 0123456789abcdef01', /line 2: uk-london is listed twice/],
    [
      'uk-london 7f3a9c1e5b2d4f60a8\nus-west 7f3a9c1e5b2d4f60a8',
      /line 2: us-west has the same token as uk-london/,
    ],
    ['uk-london the-shared-token-value', /OUTPOST_TOKEN's, which every replica may present/],
  ])('refuses %j', (text, message) => {
    expect(() => parseReplicaTokens(text, 'tokens', ['the-shared-token-value', undefined])).toThrow(message);
  });
});
