import { describe, expect, it } from 'vitest';
import { ReplicaPaces } from './replica-paces.js';

describe('ReplicaPaces', () => {
  it('gives the batches of one replica one pace, and each replica its own', () => {
    const paces = new ReplicaPaces();
    const a = paces.get('uk-london', 1024 * 1024, 0);
    expect(paces.get('uk-london', 1024 * 1024, 10)).toBe(a);
    expect(paces.get('de-berlin', 1024 * 1024, 10)).not.toBe(a);
    // Shared: what one batch took, the next one waits for.
    expect(a.take(1024 * 1024, 10)).toBeGreaterThan(0);
    expect(paces.get('uk-london', 1024 * 1024, 10).take(1, 10)).toBeGreaterThan(0);
  });

  it('starts a new pace when the replica asks for another rate', () => {
    const paces = new ReplicaPaces();
    const slow = paces.get('uk-london', 1000, 0);
    slow.take(1_000_000, 0);
    const fast = paces.get('uk-london', 10_000_000, 0);
    expect(fast).not.toBe(slow);
    expect(fast.take(100_000, 0)).toBe(0);
  });

  it('gives a request without a name a pace of its own', () => {
    const paces = new ReplicaPaces();
    expect(paces.get(undefined, 1000, 0)).not.toBe(paces.get(undefined, 1000, 0));
    expect(paces.size).toBe(0);
  });

  it('keeps at most 4096 names, forgetting the least recently used', () => {
    const paces = new ReplicaPaces();
    const kept = Array.from({ length: 4096 }, (_, i) => paces.get(`r${i}`, 1000, 0));
    // r0 and r1 used again: r2 and r3 are now the least recent.
    paces.get('r0', 1000, 0);
    paces.get('r1', 1000, 0);
    paces.get('r-new', 1000, 0);
    paces.get('r-newer', 1000, 0);
    expect(paces.size).toBe(4096);
    expect(paces.get('r0', 1000, 0)).toBe(kept[0]);
    expect(paces.get('r1', 1000, 0)).toBe(kept[1]);
    expect(paces.get('r4', 1000, 0)).toBe(kept[4]);
    expect(paces.get('r2', 1000, 0)).not.toBe(kept[2]);
  });
});
