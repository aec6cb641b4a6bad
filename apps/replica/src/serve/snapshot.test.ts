import { EMPTY_ROOT, sha256Hex, type TreeEntry } from '@outpost/core';
import { describe, expect, it } from 'vitest';
import { EMPTY_SNAPSHOT, makeSnapshot } from './snapshot.js';

const entry = (path: string, size: number): TreeEntry => ({
  path,
  size,
  hash: sha256Hex(path),
  mtime: 1_000,
  chunks: size === 0 ? [] : [{ hash: sha256Hex(path), size }],
});

const tree = (...entries: TreeEntry[]) => new Map(entries.map((e) => [e.path, e]));

describe('makeSnapshot', () => {
  it('counts files and bytes and lists every directory', () => {
    const t = tree(
      entry('top.txt', 10),
      entry('a/b/c/deep.txt', 100),
      entry('a/b/sibling.txt', 5),
      entry('a/x.txt', 0),
      entry('z/only.bin', 1_000_000),
    );
    const root = sha256Hex('root');
    const s = makeSnapshot(7, root, t);
    expect(s.version).toBe(7);
    expect(s.root).toBe(root);
    expect(s.tree).toBe(t);
    expect(s.files).toBe(5);
    expect(s.bytes).toBe(1_000_115);
    expect([...s.dirs].sort()).toEqual(['a', 'a/b', 'a/b/c', 'z']);
    expect(s.dirs.has('top.txt')).toBe(false);
    expect(s.dirs.has('')).toBe(false);
  });

  it('lists the same directories whatever the order of the entries', () => {
    const paths = ['a/b/c/d.txt', 'a/e.txt', 'a/b/f.txt', 'g/h/i.txt', 'g/j.txt', 'k.txt'];
    const expected = ['a', 'a/b', 'a/b/c', 'g', 'g/h'];
    const forward = makeSnapshot(1, EMPTY_ROOT, tree(...paths.map((p) => entry(p, 1))));
    const backward = makeSnapshot(1, EMPTY_ROOT, tree(...[...paths].reverse().map((p) => entry(p, 1))));
    // A shallow path first: its directory is known when the deeper one arrives.
    const shallowFirst = makeSnapshot(1, EMPTY_ROOT, tree(entry('a/e.txt', 1), entry('a/b/c/d.txt', 1)));
    expect([...forward.dirs].sort()).toEqual(expected);
    expect([...backward.dirs].sort()).toEqual(expected);
    expect([...shallowFirst.dirs].sort()).toEqual(['a', 'a/b', 'a/b/c']);
  });

  it('keeps names that look like directories apart', () => {
    const s = makeSnapshot(1, EMPTY_ROOT, tree(entry('ab/c', 1), entry('a/bc', 1), entry('a.b/c', 1)));
    expect([...s.dirs].sort()).toEqual(['a', 'a.b', 'ab']);
  });

  it('has an empty snapshot at version 0', () => {
    expect(EMPTY_SNAPSHOT.version).toBe(0);
    expect(EMPTY_SNAPSHOT.root).toBe(EMPTY_ROOT);
    expect(EMPTY_SNAPSHOT.tree.size).toBe(0);
    expect(EMPTY_SNAPSHOT.dirs.size).toBe(0);
    expect(EMPTY_SNAPSHOT.files).toBe(0);
    expect(EMPTY_SNAPSHOT.bytes).toBe(0);
  });
});
