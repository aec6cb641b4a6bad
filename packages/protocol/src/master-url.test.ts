import { describe, expect, it } from 'vitest';
import { withoutAdminBase } from './master-url.js';

describe('withoutAdminBase', () => {
  it.each([
    ['/', '/'],
    ['/outpost/', '/outpost/'],
    ['/_outpost', '/'],
    ['/_outpost//', '/'],
    ['/_outpost/api/v1', '/'],
    ['/outpost/_outpost/api/v1/', '/outpost'],
    // Only a whole segment: a prefix that merely contains the word is a prefix.
    ['/my_outpost', '/my_outpost'],
  ])('takes %s as %s', (path, meant) => {
    expect(withoutAdminBase(path)).toBe(meant);
  });

  it.each([
    '/_outpost/dashboard',
    '/_outpost/api',
    '/_outpost/api/v1/status',
    '/_outpost/_outpost',
    '/_outpost/x/',
  ])('refuses %s', (path) => {
    expect(withoutAdminBase(path)).toBeNull();
  });
});
