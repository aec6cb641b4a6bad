import { describe, expect, it } from 'vitest';
import { followable, heldBeyond, MAX_VERSION_JUMP } from './held-beyond.js';

const R = (c: string) => c.repeat(64);

describe('heldBeyond', () => {
  it('is true for a version past the latest, or the latest number with another root', () => {
    const latest = { version: 5, root: R('a') };
    expect(heldBeyond({ version: 6, root: R('b') }, latest)).toBe(true);
    expect(heldBeyond({ version: 5, root: R('b') }, latest)).toBe(true);
  });

  it('is false for the latest itself and for anything older, whatever its root', () => {
    const latest = { version: 5, root: R('a') };
    expect(heldBeyond({ version: 5, root: R('a') }, latest)).toBe(false);
    expect(heldBeyond({ version: 4, root: R('b') }, latest)).toBe(false);
    expect(heldBeyond({ version: 0, root: R('0') }, latest)).toBe(false);
  });

  it('is followed only up to MAX_VERSION_JUMP past the latest: one hello must not use up the numbers', () => {
    const latest = { version: 5, root: R('a') };
    expect(followable({ version: 5 + MAX_VERSION_JUMP, root: R('b') }, latest)).toBe(true);
    expect(followable({ version: 6 + MAX_VERSION_JUMP, root: R('b') }, latest)).toBe(false);
    expect(followable({ version: Number.MAX_SAFE_INTEGER, root: R('b') }, latest)).toBe(false);
    expect(followable({ version: 4, root: R('b') }, latest)).toBe(false);
  });
});
