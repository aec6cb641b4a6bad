import { describe, expect, it } from 'vitest';
import { RateWindow } from './rate-window.js';

describe('RateWindow', () => {
  it('tells no rate until the samples span a second', () => {
    const r = new RateWindow(5000, 1000);
    expect(r.perSecond()).toBeNull();
    r.sample(0, 0);
    r.sample(500, 1000);
    expect(r.perSecond()).toBeNull();
    r.sample(1000, 2000);
    expect(r.perSecond()).toBe(2000);
  });

  it('follows the last five seconds, not the whole run', () => {
    const r = new RateWindow(5000, 1000);
    // 10 s at 1 MB/s, then 10 s at 100 kB/s.
    for (let t = 0; t <= 10_000; t += 250) r.sample(t, t * 1000);
    expect(r.perSecond()).toBeCloseTo(1_000_000, -3);
    for (let t = 10_250; t <= 20_000; t += 250) r.sample(t, 10_000_000 + (t - 10_000) * 100);
    expect(r.perSecond()).toBeCloseTo(100_000, -3);
  });

  it('keeps few samples however long it runs', () => {
    const r = new RateWindow(5000, 1000);
    // A sample every millisecond for 1,000 s: kept every 100 ms, and only the last 5 s of them.
    for (let t = 0; t <= 1_000_000; t++) r.sample(t, t);
    expect(r.perSecond()).toBeCloseTo(1000, 6);
    expect(r.size).toBeLessThanOrEqual(52);
  });
});
