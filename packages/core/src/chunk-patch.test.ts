import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChunkPatch, makeChunkPatch, patchPairs } from './chunk-patch.js';

const ref = (hash: string) => ({ hash, size: 1 });

describe('chunk patches', () => {
  it('tell one edit by its own bytes, and give the target back', () => {
    const base = randomBytes(40_000);
    // Bytes that neither end of the new line matches, so the edit's bounds are exact.
    base[20_000] = 0;
    base[20_015] = 0;
    const target = Buffer.concat([
      base.subarray(0, 20_000),
      Buffer.from('a new line\n'),
      base.subarray(20_016),
    ]);
    const p = makeChunkPatch(base, target, 16 * 1024)!;
    expect(p).toMatchObject({ head: 20_000, tail: 19_984 });
    expect(p.data.toString()).toBe('a new line\n');
    expect(applyChunkPatch(base, p)!.equals(target)).toBe(true);
  });

  it('turn any base into any target they are made for (a byte flipped, an append, a cut, unrelated bytes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        const base = Buffer.from(a);
        const target = Buffer.from(b);
        const p = makeChunkPatch(base, target, 1 << 20);
        if (p) expect(applyChunkPatch(base, p)!.equals(target)).toBe(true);
      }),
    );
    const base = randomBytes(4096);
    for (const target of [
      Buffer.concat([base, Buffer.from('appended')]),
      base.subarray(0, 4000),
      Buffer.from(base).fill(7, 100, 101),
    ]) {
      const p = makeChunkPatch(base, target, 1 << 20)!;
      expect(p.data.length).toBeLessThanOrEqual(8);
      expect(applyChunkPatch(base, p)!.equals(target)).toBe(true);
    }
  });

  it('are not made when the edit is a quarter of the chunk or more, or over the limit', () => {
    const base = randomBytes(4096);
    expect(makeChunkPatch(base, randomBytes(4096), 1 << 20)).toBeNull();
    const edited = Buffer.from(base).fill(0, 1000, 2100);
    expect(makeChunkPatch(base, edited, 1 << 20)).toBeNull();
    const small = Buffer.from(base).fill(0, 1000, 1200);
    expect(makeChunkPatch(base, small, 100)).toBeNull();
    expect(makeChunkPatch(base, small, 200)).not.toBeNull();
  });

  it('refuse a base they do not fit', () => {
    expect(applyChunkPatch(Buffer.alloc(10), { head: 6, tail: 5, data: Buffer.alloc(0) })).toBeNull();
    expect(applyChunkPatch(Buffer.alloc(10), { head: -1, tail: 0, data: Buffer.alloc(0) })).toBeNull();
  });

  it('pair each chunk a splice puts in with the one it replaces', () => {
    const from = ['a', 'b', 'c', 'd', 'e'].map(ref);
    const to = ['a', 'B', 'C', 'd', 'e'].map(ref);
    expect(patchPairs(from, to, 10)).toEqual([
      { chunk: ref('B'), base: ref('b') },
      { chunk: ref('C'), base: ref('c') },
    ]);
    expect(patchPairs(from, to, 1)).toHaveLength(1);
    // An insertion replaces nothing: nothing to pair.
    expect(patchPairs(['a', 'b'].map(ref), ['a', 'x', 'b'].map(ref), 10)).toEqual([]);
    expect(patchPairs(['a'].map(ref), ['z'].map(ref), 10)).toEqual([{ chunk: ref('z'), base: ref('a') }]);
  });
});
