import { describe, expect, it } from 'vitest';
import { Rotation } from './rotation.js';
import { weightsFromLoad } from './weights.js';

function shares(weights: number[], n: number): number[] {
  const rot = new Rotation();
  const cands = weights.map((weight, i) => ({ key: String(i), weight }));
  const counts = weights.map(() => 0);
  for (let i = 0; i < n; i++) counts[Number(rot.order('x', cands)[0]!.key)]!++;
  return counts.map((c) => c / n);
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

  it('interleaves picks rather than bunching them', () => {
    const rot = new Rotation();
    const cands = ['a', 'b', 'c'].map((key) => ({ key, weight: 1 }));
    const picks = Array.from({ length: 9 }, () => rot.order('x', cands)[0]!.key).join('');
    expect(picks).toBe('abcabcabc');
  });

  it('puts every candidate in each answer, the pick first', () => {
    const rot = new Rotation();
    const cands = ['a', 'b', 'c'].map((key) => ({ key, weight: 1 }));
    const answer = rot.order('x', cands);
    expect(answer.map((c) => c.key).sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps separate rotations per key and survives candidates coming and going', () => {
    const rot = new Rotation();
    const abc = ['a', 'b', 'c'].map((key) => ({ key, weight: 1 }));
    rot.order('x', abc);
    expect(rot.order('y', abc)[0]!.key).toBe('a');
    const counts: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      const set = i % 100 < 50 ? abc : abc.slice(1);
      const k = rot.order('x', set)[0]!.key;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts.b).toBeGreaterThan(counts.a!);
    expect(Math.abs(counts.b! - counts.c!)).toBeLessThanOrEqual(2);
  });

  it('treats zero, negative and non-finite weights as zero', () => {
    const rot = new Rotation();
    const cands = [
      { key: 'a', weight: 1 },
      { key: 'b', weight: Number.NaN },
      { key: 'c', weight: -3 },
    ];
    for (let i = 0; i < 10; i++) expect(rot.order('x', cands)[0]!.key).toBe('a');
  });
});
