import { describe, expect, it } from 'vitest';
import { Rotation } from './rotation.js';
import { weightsFromLoad } from './weights.js';

function shares(weights: number[], n: number): number[] {
  const rot = new Rotation(weights);
  const counts = weights.map(() => 0);
  for (let i = 0; i < n; i++) counts[rot.next()]!++;
  return counts.map((c) => c / n);
}

const picks = (rot: Rotation, n: number, names = 'abcdefgh') =>
  Array.from({ length: n }, () => names[rot.next()]).join('');

/** A rotation rebuilt over `keys` from `before` (over `was`), carrying each key's place. */
function follow(before: Rotation, was: string[], keys: string[], weights = keys.map(() => 1)) {
  return new Rotation(
    weights,
    keys.map((k) => (was.includes(k) ? before.passOf(was.indexOf(k)) : Number.NaN)),
  );
}

describe('weights from load', () => {
  it('gives equal load equal weight, idle or busy', () => {
    expect(weightsFromLoad([0, 0, 0])).toEqual([1, 1, 1]);
    expect(weightsFromLoad([500, 500])).toEqual([1, 1]);
  });

  it('gives a replica with triple load clearly less weight', () => {
    const [a, b, c] = weightsFromLoad([100, 100, 300]);
    expect(a).toBe(b);
    expect(c! / a!).toBeLessThan(0.5);
  });

  it('ignores noise on an idle fleet', () => {
    const [a, b] = weightsFromLoad([0, 1]);
    expect(b! / a!).toBeGreaterThan(0.9);
  });

  it('stays within bounds for extreme loads', () => {
    for (const w of weightsFromLoad([0, 1e9])) {
      expect(w).toBeGreaterThanOrEqual(0.05);
      expect(w).toBeLessThanOrEqual(20);
    }
  });
});

describe('Rotation', () => {
  it('shares equally among equal weights, exactly', () => {
    expect(shares([1, 1, 1], 9999)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('shares by weight', () => {
    const [a, b, c] = shares([1, 1, 0.5], 10_000);
    expect(a).toBeCloseTo(0.4, 3);
    expect(b).toBeCloseTo(0.4, 3);
    expect(c).toBeCloseTo(0.2, 3);
  });

  it('goes round in order among equal weights', () => {
    expect(picks(new Rotation([1, 1, 1]), 9)).toBe('abcabcabc');
  });

  it('spreads the picks of a heavier candidate rather than bunching them', () => {
    // Weight 3 against 1: b once in every four picks, never two a-runs merged into one.
    const seq = picks(new Rotation([3, 1]), 400);
    for (let i = 0; i < 400; i += 4) expect(seq.slice(i, i + 4).split('b')).toHaveLength(2);
  });

  it('carries its place into a rebuilt rotation: rebuilt before every pick, shares stay exact', () => {
    let rot = new Rotation([1, 1, 1]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      rot = follow(rot, ['a', 'b', 'c'], ['a', 'b', 'c']);
      counts[rot.next()]!++;
    }
    expect(counts).toEqual([1000, 1000, 1000]);
    // Weighted, rebuilt every pick: still by weight.
    let w = new Rotation([2, 1]);
    const wc = [0, 0];
    for (let i = 0; i < 3000; i++) {
      w = follow(w, ['a', 'b'], ['a', 'b'], [2, 1]);
      wc[w.next()]!++;
    }
    expect(wc).toEqual([2000, 1000]);
  });

  it('lets candidates come and go: a newcomer takes its turns at once, those that stay keep theirs', () => {
    const abc = new Rotation([1, 1, 1]);
    expect(picks(abc, 4)).toBe('abca');
    // a leaves, d comes: b and c were due before a, d is due now.
    const bcd = follow(abc, ['a', 'b', 'c'], ['b', 'c', 'd']);
    expect(picks(bcd, 6, 'bcd')).toBe('bcdbcd');
  });

  it('never picks a candidate with a zero, negative or non-finite weight while another has one', () => {
    const rot = new Rotation([1, Number.NaN, -3, 0, Number.POSITIVE_INFINITY]);
    for (let i = 0; i < 10; i++) expect(rot.next()).toBe(0);
    expect(rot.size).toBe(1);
    // None has a weight: all take turns.
    expect(picks(new Rotation([0, 0, 0]), 6)).toBe('abcabc');
  });

  it('goes round 50,000 candidates, each once per round', () => {
    const rot = new Rotation(new Float64Array(50_000).fill(1));
    const seen = new Uint8Array(50_000);
    for (let i = 0; i < 50_000; i++) seen[rot.next()]!++;
    expect(seen.every((s) => s === 1)).toBe(true);
  });
});
