import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const MIN = 100;
const MAX = 10_000;

/** A deterministic source of numbers in [0, 1). */
function lcg(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

describe('backoffDelay', () => {
  it('never goes below minMs/2, even when the dice say 0', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      expect(backoffDelay(attempt, MIN, MAX, () => 0)).toBe(MIN / 2);
    }
  });

  it('reaches up to min·2^attempt, and never above maxMs', () => {
    const top = () => 0.999_999_9;
    expect(backoffDelay(0, MIN, MAX, top)).toBe(99);
    expect(backoffDelay(1, MIN, MAX, top)).toBe(199);
    expect(backoffDelay(2, MIN, MAX, top)).toBe(399);
    expect(backoffDelay(6, MIN, MAX, top)).toBe(6_399);
    expect(backoffDelay(7, MIN, MAX, top)).toBe(9_999);
    for (const attempt of [8, 20, 30, 31, 100, 10_000, Number.MAX_SAFE_INTEGER]) {
      expect(backoffDelay(attempt, MIN, MAX, top), String(attempt)).toBe(9_999);
    }
  });

  it('scales the ceiling by the random number (full jitter)', () => {
    const half = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, MIN, MAX, half))).toEqual([
      50, 100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000,
    ]);
    expect(backoffDelay(3, MIN, MAX, () => 0.25)).toBe(200);
  });

  it('grows with the attempt for the same luck', () => {
    for (const r of [0.1, 0.37, 0.5, 0.9]) {
      let previous = 0;
      for (let attempt = 0; attempt < 20; attempt++) {
        const d = backoffDelay(attempt, MIN, MAX, () => r);
        expect(d).toBeGreaterThanOrEqual(previous);
        previous = d;
      }
      // It levels off at the share `r` of maxMs.
      expect(previous).toBe(Math.floor(r * MAX));
    }
  });

  it('stays within [minMs/2, maxMs] for any random number and attempt', () => {
    const random = lcg(42);
    for (const [min, max] of [
      [100, 10_000],
      [250, 30_000],
      [1, 1],
      [1_000, 1_000],
    ] as const) {
      for (let attempt = 0; attempt < 50; attempt++) {
        for (let i = 0; i < 20; i++) {
          const d = backoffDelay(attempt, min, max, random);
          expect(d).toBeGreaterThanOrEqual(min / 2);
          expect(d).toBeLessThanOrEqual(max);
        }
      }
    }
  });

  it('uses Math.random by default, within bounds', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const d = backoffDelay(attempt, MIN, MAX);
      expect(d).toBeGreaterThanOrEqual(MIN / 2);
      expect(d).toBeLessThanOrEqual(Math.min(MAX, MIN * 2 ** attempt));
    }
  });
});
