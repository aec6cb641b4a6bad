import type { TreeEntry } from '@outpost/core';
import type { FetchProgress } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { Progress } from './fetch-progress.js';

const h = (c: string) => c.repeat(64);
const file = (path: string, ...chunks: string[]): TreeEntry => ({
  path,
  size: chunks.length * 10,
  hash: h(path[0]!),
  mtime: 0,
  chunks: chunks.map((c) => ({ hash: h(c), size: 10 })),
});

describe('Progress', () => {
  it('counts a file done once every chunk it lacked arrived, a shared or repeated chunk once', () => {
    const seen: FetchProgress[] = [];
    const p = new Progress((x) => seen.push(x));
    const files = [
      file('one', 'a'),
      file('two', 'a', 'b', 'a'),
      file('three', 'c'),
      file('four', 'd'), // held already
    ];
    const sizes = new Map(['a', 'b', 'c', 'd'].map((c) => [h(c), 10]));
    p.add(files, [h('a'), h('b'), h('c')], sizes);
    expect(seen.at(-1)).toEqual({ filesDone: 1, filesTotal: 4, bytesDone: 0, bytesTotal: 30 });
    p.arrived(h('a'));
    expect(seen.at(-1)).toEqual({ filesDone: 2, filesTotal: 4, bytesDone: 10, bytesTotal: 30 });
    p.arrived(h('a')); // again: nothing more
    p.arrived(h('b'));
    expect(seen.at(-1)).toEqual({ filesDone: 3, filesTotal: 4, bytesDone: 20, bytesTotal: 30 });
    p.arrived(h('c'));
    expect(seen.at(-1)).toEqual({ filesDone: 4, filesTotal: 4, bytesDone: 30, bytesTotal: 30 });
  });

  it('counts the chunks of the first file alone (index 0) as they arrive', () => {
    const seen: FetchProgress[] = [];
    const p = new Progress((x) => seen.push(x));
    const sizes = new Map(['a', 'b'].map((c) => [h(c), 10]));
    p.add([file('big', 'a', 'b')], [h('a'), h('b')], sizes);
    p.arrived(h('a'));
    expect(seen.at(-1)).toEqual({ filesDone: 0, filesTotal: 1, bytesDone: 10, bytesTotal: 20 });
    p.arrived(h('b'));
    expect(seen.at(-1)).toEqual({ filesDone: 1, filesTotal: 1, bytesDone: 20, bytesTotal: 20 });
  });
});
