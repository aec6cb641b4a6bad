import { EMPTY_ROOT, merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import { describe, expect, it } from 'vitest';
import { emptySnapshot, makeSnapshot, snapshotOf } from './snapshot.js';

const entry = (path: string, size: number): TreeEntry => ({
  path,
  size,
  hash: sha256Hex(path),
  mtime: 1_000,
  chunks: size === 0 ? [] : [{ hash: sha256Hex(path), size }],
});

const tree = (...entries: TreeEntry[]) => entries;

describe('makeSnapshot', () => {
  it('counts files and bytes and lists every directory', () => {
    const t = tree(
      entry('top.txt', 10),
      entry('a/b/c/deep.txt', 100),
      entry('a/b/sibling.txt', 5),
      entry('a/x.txt', 0),
      entry('z/only.bin', 1_000_000),
    );
    const s = makeSnapshot(7, t);
    expect(s.version).toBe(7);
    expect(s.root).toBe(merkleRoot(t));
    expect(new Map(s.tree)).toEqual(new Map(t.map((e) => [e.path, e])));
    expect(s.files).toBe(5);
    expect(s.bytes).toBe(1_000_115);
    expect([...s.dirs.keys()].sort()).toEqual(['a', 'a/b', 'a/b/c', 'z']);
    expect(s.dirs.has('top.txt')).toBe(false);
    expect(s.dirs.has('')).toBe(false);
  });

  it('lists the same directories whatever the order of the entries', () => {
    const paths = ['a/b/c/d.txt', 'a/e.txt', 'a/b/f.txt', 'g/h/i.txt', 'g/j.txt', 'k.txt'];
    const expected = ['a', 'a/b', 'a/b/c', 'g', 'g/h'];
    const forward = makeSnapshot(1, tree(...paths.map((p) => entry(p, 1))));
    const backward = makeSnapshot(1, tree(...[...paths].reverse().map((p) => entry(p, 1))));
    // A shallow path first: its directory is known when the deeper one arrives.
    const shallowFirst = makeSnapshot(1, tree(entry('a/e.txt', 1), entry('a/b/c/d.txt', 1)));
    expect([...forward.dirs.keys()].sort()).toEqual(expected);
    expect([...backward.dirs.keys()].sort()).toEqual(expected);
    expect([...shallowFirst.dirs.keys()].sort()).toEqual(['a', 'a/b', 'a/b/c']);
  });

  it('keeps names that look like directories apart', () => {
    const s = makeSnapshot(1, tree(entry('ab/c', 1), entry('a/bc', 1), entry('a.b/c', 1)));
    expect([...s.dirs.keys()].sort()).toEqual(['a', 'a.b', 'ab']);
  });

  it('keeps its numbers when the live tree moves on to the next version', () => {
    const s = makeSnapshot(1, [entry('a/b', 3)]);
    s.live.plan([{ op: 'put', entry: entry('c/d', 4) }]).commit();
    const next = snapshotOf(2, s.live);
    expect([s.version, s.files, s.bytes]).toEqual([1, 1, 3]);
    expect([next.version, next.files, next.bytes]).toEqual([2, 2, 7]);
    expect(next.root).not.toBe(s.root);
    expect(next.dirs.has('c')).toBe(true);
  });

  it('has an empty snapshot at version 0, a fresh one each time', () => {
    const empty = emptySnapshot();
    expect(empty.version).toBe(0);
    expect(empty.root).toBe(EMPTY_ROOT);
    expect(empty.tree.size).toBe(0);
    expect(empty.dirs.size).toBe(0);
    expect(empty.files).toBe(0);
    expect(empty.bytes).toBe(0);
    expect(emptySnapshot().live).not.toBe(empty.live);
  });
});
