import { describe, expect, it } from 'vitest';
import { releaseMemory } from './release-memory.js';

describe('releaseMemory', () => {
  it('collects garbage that allocation pressure alone would leave', () => {
    releaseMemory();
    const base = process.memoryUsage().heapUsed;
    let garbage: unknown[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `entry ${i}` }));
    expect(process.memoryUsage().heapUsed - base).toBeGreaterThan(10 * 2 ** 20);
    garbage = null;
    releaseMemory();
    expect(garbage).toBeNull();
    expect(process.memoryUsage().heapUsed - base).toBeLessThan(5 * 2 ** 20);
  });
});
