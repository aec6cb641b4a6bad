import { describe, expect, it } from 'vitest';
import { LoopSlicer } from './loop-slicer.js';

/** Busy-waits `ms` milliseconds: a synchronous step. */
function spin(ms: number) {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe('LoopSlicer', () => {
  it('gives timers a turn every slice, not only at the end of the run', async () => {
    const slicer = new LoopSlicer(5);
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 1);
    const start = performance.now();
    for (let i = 0; i < 800; i++) {
      await slicer.pause();
      spin(0.5);
    }
    const end = performance.now();
    clearInterval(timer);
    // 400 ms of steps in 5 ms slices: the timer ran all along. Without the slices it would wait
    // the whole run; the bound leaves room for a machine busy with other work (a CI run beside).
    const during = ticks.filter((t) => t < end);
    expect(during.length).toBeGreaterThanOrEqual(5);
    let gap = during[0]! - start;
    for (let i = 1; i < during.length; i++) gap = Math.max(gap, during[i]! - during[i - 1]!);
    expect(gap).toBeLessThan(150);
  });

  it('takes one turn for many concurrent workers, not one each', async () => {
    const slicer = new LoopSlicer(4);
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 1);
    const start = performance.now();
    let left = 8000;
    const worker = async () => {
      while (left > 0) {
        await slicer.pause();
        left--;
        spin(0.05);
        await Promise.resolve();
      }
    };
    // Were each worker to take its own turn, the other 63 would each run a whole slice in it:
    // the timer would wait 64 slices (256 ms), not one.
    await Promise.all(Array.from({ length: 64 }, worker));
    const end = performance.now();
    clearInterval(timer);
    const during = ticks.filter((t) => t < end);
    let gap = during[0]! - start;
    for (let i = 1; i < during.length; i++) gap = Math.max(gap, during[i]! - during[i - 1]!);
    expect(gap).toBeLessThan(150);
  });

  it('does not yield while the slice lasts', async () => {
    const slicer = new LoopSlicer(10_000);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    for (let i = 0; i < 100; i++) await slicer.pause();
    expect(ran).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(true);
  });
});
