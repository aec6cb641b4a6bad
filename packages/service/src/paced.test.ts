import { describe, expect, it } from 'vitest';
import { PACE_SLICE_BYTES, paced } from './paced.js';

async function* pieces(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i);
}

/** A limit with no burst: each piece waits its own bytes' worth at `rate` bytes per second. */
const steady = (rate: number) => ({ take: (bytes: number) => (bytes * 1000) / rate });

describe('paced', () => {
  it('passes every piece through, in order, at once when there is no limit', async () => {
    const out: number[] = [];
    const started = performance.now();
    for await (const p of paced(pieces(50, 1024), undefined)) out.push(p[0]!);
    expect(out).toEqual([...Array(50).keys()]);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('waits before each piece as long as the limit says', async () => {
    // 50 KiB in 10 KiB pieces at 100 KiB/s: 0.1 s each.
    const started = performance.now();
    let bytes = 0;
    for await (const p of paced(pieces(5, 10 * 1024), steady(100 * 1024))) bytes += p.length;
    const took = performance.now() - started;
    expect(bytes).toBe(50 * 1024);
    expect(took).toBeGreaterThanOrEqual(480);
    expect(took).toBeLessThan(2000);
  });

  it('slices a large piece under a limit, so the pace is even, and leaves small ones whole', async () => {
    const waits: number[] = [];
    const limit = {
      take: (bytes: number) => {
        waits.push(bytes);
        return 0;
      },
    };
    const out: Buffer[] = [];
    async function* two() {
      yield Buffer.alloc(40 * 1024, 1);
      yield Buffer.alloc(100, 2);
    }
    for await (const p of paced(two(), limit)) out.push(p);
    expect(waits).toEqual([PACE_SLICE_BYTES, PACE_SLICE_BYTES, 40 * 1024 - 2 * PACE_SLICE_BYTES, 100]);
    expect(Buffer.concat(out)).toEqual(Buffer.concat([Buffer.alloc(40 * 1024, 1), Buffer.alloc(100, 2)]));
  });
});
