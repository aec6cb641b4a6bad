import type { Manifest } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { ManifestPartsCache } from './manifest-parts-cache.js';

const target = (version: number) => ({ version, root: String(version).repeat(64).slice(0, 64) });
const parts = (version: number): Manifest[] => [
  { ...target(version), from: 0, full: true, changes: [], part: { index: 0, count: 2 } },
  { ...target(version), from: 0, full: true, changes: [], part: { index: 1, count: 2 } },
];

describe('ManifestPartsCache', () => {
  it('builds a manifest once for the parts read after the first', () => {
    const cache = new ManifestPartsCache();
    let builds = 0;
    const build = () => {
      builds++;
      return parts(3);
    };
    const a = cache.get(0, undefined, target(3), build);
    const b = cache.get(0, undefined, target(3), build);
    expect(b).toBe(a);
    expect(builds).toBe(1);
    // Another starting point or target is another manifest.
    cache.get(1, undefined, target(3), build);
    cache.get(0, undefined, target(4), () => parts(4));
    expect(builds).toBe(2);
  });

  it('forgets a manifest after a minute, and the least recently read beyond eight', () => {
    let now = 0;
    const cache = new ManifestPartsCache(() => now);
    let builds = 0;
    const build = () => {
      builds++;
      return parts(1);
    };
    cache.get(0, undefined, target(1), build);
    now = 61_000;
    cache.get(0, undefined, target(1), build);
    expect(builds).toBe(2);
    for (let from = 1; from <= 8; from++) cache.get(from, undefined, target(1), build);
    expect(builds).toBe(10);
    // Nine asked for, eight kept: the oldest (from 0) went.
    cache.get(8, undefined, target(1), build);
    expect(builds).toBe(10);
    cache.get(0, undefined, target(1), build);
    expect(builds).toBe(11);
  });
});
