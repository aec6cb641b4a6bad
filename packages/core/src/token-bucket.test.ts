import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

/** Sends `total` bytes in pieces, sleeping as told; returns the ms it took on a simulated clock. */
function simulate(bucket: TokenBucket, total: number, piece: number): number {
  let now = 0;
  for (let sent = 0; sent < total; sent += piece) now += bucket.take(piece, now);
  return now;
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then holds the rate', () => {
    const b = new TokenBucket(1000, 500, 0);
    expect(b.take(500, 0)).toBe(0);
    expect(b.take(100, 0)).toBe(100);
  });

  it('averages to the rate over a long transfer, whatever the piece size', () => {
    for (const piece of [1, 100, 4096, 65536]) {
      const ms = simulate(new TokenBucket(1_000_000, 64 * 1024, 0), 10_000_000, piece);
      // 10 MB at 1 MB/s: 10 s, less the first burst.
      expect(ms).toBeGreaterThan(9_900);
      expect(ms).toBeLessThan(10_100);
    }
  });

  it('refills while idle, up to the burst only', () => {
    const b = new TokenBucket(1000, 100, 0);
    b.take(100, 0);
    expect(b.take(100, 100_000)).toBe(0);
    expect(b.take(100, 100_000)).toBe(100);
  });

  it('refuses a rate of zero or less', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
  });
});
