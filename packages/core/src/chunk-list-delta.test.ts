import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChunkListEdit, chunkListDigest, diffChunkLists } from './chunk-list-delta.js';
import type { ChunkRef } from './entry.js';
import { sha256Hex } from './hash.js';

const ref = (n: number): ChunkRef => ({ hash: sha256Hex(String(n)), size: 1 + (n % 7) });
const list = fc.array(fc.integer({ min: 0, max: 5 }).map(ref), { maxLength: 30 });

describe('diffChunkLists', () => {
  it('gives a splice that turns any list into any other', () => {
    fc.assert(
      fc.property(list, list, (a, b) => {
        const edit = diffChunkLists(a, b);
        expect(applyChunkListEdit(a, edit)).toEqual(b);
        expect(edit.insert.length).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 500 },
    );
  });

  it('is as small as the change: one chunk replaced in 1,600 is one chunk inserted', () => {
    const before = Array.from({ length: 1600 }, (_, i) => ref(1000 + i));
    const after = [...before];
    after[800] = ref(99);
    expect(diffChunkLists(before, after)).toEqual({ at: 800, remove: 1, insert: [ref(99)] });
    expect(diffChunkLists(before, before)).toEqual({ at: 1600, remove: 0, insert: [] });
  });

  it('refuses a splice that does not fit', () => {
    expect(applyChunkListEdit([ref(1)], { at: 1, remove: 1, insert: [] })).toBeNull();
    expect(applyChunkListEdit([ref(1)], { at: -1, remove: 0, insert: [] })).toBeNull();
  });
});

describe('chunkListDigest', () => {
  it('tells lists apart by hash, size and order', () => {
    const a = [ref(1), ref(2)];
    expect(chunkListDigest(a)).toBe(chunkListDigest([ref(1), ref(2)]));
    expect(chunkListDigest(a)).not.toBe(chunkListDigest([ref(2), ref(1)]));
    expect(chunkListDigest(a)).not.toBe(chunkListDigest([ref(1), { ...ref(2), size: 99 }]));
  });
});
