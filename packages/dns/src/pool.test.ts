import { describe, expect, it } from 'vitest';
import { buildPool } from './pool.js';
import type { Target } from './zone-view.js';

const target = (address: string, weight = 1): Target => ({ replica: address, address, family: 4, weight });
const firsts = (pool: ReturnType<typeof buildPool>, n: number) =>
  Array.from({ length: n }, () => pool.targets[pool.rotation.next()]!.address).join(' ');

describe('buildPool', () => {
  it('encodes each target once, in order', () => {
    const pool = buildPool([target('10.0.0.1'), target('10.0.0.2')], 5, null);
    expect(pool.bodies.map((b) => [...b.subarray(-4)].join('.'))).toEqual(['10.0.0.1', '10.0.0.2']);
    // Type A, class IN, TTL 5, 4 bytes of RDATA.
    expect(pool.bodies[0]!.subarray(0, 10)).toEqual(Buffer.from([0, 1, 0, 1, 0, 0, 0, 5, 0, 4]));
  });

  it('keeps the pool of the view before when its targets are the same', () => {
    const was = buildPool([target('10.0.0.1'), target('10.0.0.2')], 5, null);
    expect(buildPool([target('10.0.0.1'), target('10.0.0.2')], 5, was)).toBe(was);
    expect(buildPool([target('10.0.0.1'), target('10.0.0.2', 2)], 5, was)).not.toBe(was);
    expect(buildPool([target('10.0.0.1'), target('10.0.0.2')], 30, was)).not.toBe(was);
  });

  it('carries the rotation by address when the targets change', () => {
    const was = buildPool([target('10.0.0.1'), target('10.0.0.2'), target('10.0.0.3')], 5, null);
    expect(firsts(was, 2)).toBe('10.0.0.1 10.0.0.2');
    // .1 leaves, .4 arrives: .3 was due next, then the newcomer, then .2 again.
    const now = buildPool([target('10.0.0.2'), target('10.0.0.3'), target('10.0.0.4')], 5, was);
    expect(firsts(now, 3)).toBe('10.0.0.3 10.0.0.4 10.0.0.2');
  });
});
