import { type Change, LiveTree, type TreeEntry } from '@outpost/core';
import { describe, expect, it } from 'vitest';
import { fileDirClashes } from './file-dir-clash.js';

const entry = (path: string): TreeEntry => ({
  path,
  size: 1,
  hash: 'a'.repeat(64),
  mtime: 0,
  chunks: [{ hash: 'a'.repeat(64), size: 1 }],
});
const put = (path: string): Change => ({ op: 'put', entry: entry(path) });
const del = (path: string): Change => ({ op: 'delete', path });
const batch = (...changes: Change[]) =>
  new Map(changes.map((c) => [c.op === 'put' ? c.entry.path : c.path, c] as const));
const tree = (...paths: string[]) => new LiveTree(paths.map(entry));

describe('fileDirClashes', () => {
  it('holds back a file under a file the tree keeps, and names that file to look at again', () => {
    expect(fileDirClashes(tree('ss'), batch(put('ss/in')))).toEqual([{ put: 'ss/in', recheck: 'ss' }]);
    expect(fileDirClashes(tree('a/b'), batch(put('a/b/c/d')))).toEqual([{ put: 'a/b/c/d', recheck: 'a/b' }]);
  });

  it('holds back a file put over a folder that keeps files, and both puts of a new clash', () => {
    expect(fileDirClashes(tree('d/x', 'd/y'), batch(put('d'), del('d/x')))).toEqual([
      { put: 'd', recheck: 'd' },
    ]);
    expect(fileDirClashes(tree(), batch(put('n'), put('n/m')))).toEqual([{ put: 'n/m', recheck: 'n' }]);
    expect(fileDirClashes(tree('d/x'), batch(put('d'), put('d/x')))).toEqual([
      { put: 'd', recheck: 'd' },
      { put: 'd/x', recheck: 'd' },
    ]);
  });

  it('lets through a change made whole: the file deleted, or every file of the folder', () => {
    expect(fileDirClashes(tree('ss'), batch(del('ss'), put('ss/in')))).toEqual([]);
    expect(fileDirClashes(tree('d/x', 'd/s/y', 'e'), batch(put('d'), del('d/x'), del('d/s/y')))).toEqual([]);
    expect(fileDirClashes(tree('dd/x', 'd.txt'), batch(put('d'), put('dd/y')))).toEqual([]);
  });
});
