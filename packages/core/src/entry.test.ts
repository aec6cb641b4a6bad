import { describe, expect, it } from 'vitest';
import { treeEntry } from './entry.js';

const h = (c: string) => c.repeat(64);

describe('treeEntry', () => {
  it('holds no chunk list for a file that is its one chunk, and makes it when asked', () => {
    const e = treeEntry('a.txt', 10, h('a'), 1_000, [{ hash: h('a'), size: 10 }]);
    expect(Object.hasOwn(e, 'chunks')).toBe(false);
    expect(e.chunks).toEqual([{ hash: h('a'), size: 10 }]);
    expect({ ...e }).toEqual({ path: 'a.txt', size: 10, hash: h('a'), mtime: 1_000 });
    // Each call gives a list of its own: a caller changing it changes nothing held.
    e.chunks[0]!.size = 99;
    expect(e.chunks[0]!.size).toBe(10);
  });

  it('keeps the list of a file of several chunks, of none, or of one that is not the file', () => {
    const two = [
      { hash: h('b'), size: 4 },
      { hash: h('c'), size: 6 },
    ];
    expect(treeEntry('two', 10, h('a'), 1, two).chunks).toBe(two);
    const none: never[] = [];
    expect(treeEntry('empty', 0, h('e'), 1, none).chunks).toBe(none);
    const other = [{ hash: h('d'), size: 10 }];
    expect(treeEntry('other', 10, h('a'), 1, other).chunks).toBe(other);
    const shorter = [{ hash: h('a'), size: 9 }];
    expect(treeEntry('shorter', 10, h('a'), 1, shorter).chunks).toBe(shorter);
  });
});
