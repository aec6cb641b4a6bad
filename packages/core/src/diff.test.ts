import { describe, expect, it } from 'vitest';
import { chunkBuffer } from './chunker.js';
import { applyChanges, type Change, changePath, diffTrees } from './diff.js';
import type { Tree, TreeEntry } from './entry.js';
import { sha256Hex } from './hash.js';
import { comparePaths } from './merkle.js';

function entry(path: string, content: string, mtime = 1_000): TreeEntry {
  const data = Buffer.from(content);
  return {
    path,
    size: data.length,
    hash: sha256Hex(data),
    mtime,
    chunks: chunkBuffer(data, 4).map((c) => ({ hash: sha256Hex(c), size: c.length })),
  };
}

function tree(...entries: TreeEntry[]): Map<string, TreeEntry> {
  return new Map(entries.map((e) => [e.path, e]));
}

/** A tree as a sorted list, so two trees compare regardless of insertion order. */
function sortedEntries(t: Tree): TreeEntry[] {
  return [...t.values()].sort((a, b) => comparePaths(a.path, b.path));
}

const summary = (changes: Change[]) =>
  changes.map((c) => (c.op === 'put' ? `put ${c.entry.path}` : `delete ${c.path}`));

describe('diffTrees', () => {
  it('finds nothing between equal trees, including two empty ones', () => {
    expect(diffTrees(new Map(), new Map())).toEqual({ changes: [], renames: [] });
    const a = tree(entry('a', '1'), entry('b/c', '2'));
    const b = tree(entry('b/c', '2'), entry('a', '1'));
    expect(diffTrees(a, b)).toEqual({ changes: [], renames: [] });
  });

  it('puts every entry when starting from nothing, and deletes every entry when going to nothing', () => {
    const t = tree(entry('b', '2'), entry('a', '1'));
    const up = diffTrees(new Map(), t);
    expect(up.changes).toEqual([
      { op: 'put', entry: t.get('a') },
      { op: 'put', entry: t.get('b') },
    ]);
    expect(up.renames).toEqual([]);
    const down = diffTrees(t, new Map());
    expect(down.changes).toEqual([
      { op: 'delete', path: 'a' },
      { op: 'delete', path: 'b' },
    ]);
    expect(down.renames).toEqual([]);
  });

  it('reports creates, modifications and deletions, leaves unchanged entries out, sorted by path', () => {
    const from = tree(
      entry('keep.txt', 'same'),
      entry('edit.txt', 'old'),
      entry('gone.txt', 'bye'),
      entry('dir/keep', 'k'),
      entry('touched', 'same bytes', 1),
      entry('grown', 'abc'),
    );
    const to = tree(
      entry('new/file.txt', 'fresh'),
      entry('edit.txt', 'new'),
      entry('keep.txt', 'same'),
      entry('dir/keep', 'k'),
      entry('touched', 'same bytes', 2),
      entry('grown', 'abcd'),
      entry('another', 'x'),
    );
    const { changes, renames } = diffTrees(from, to);
    expect(summary(changes)).toEqual([
      'put another',
      'put edit.txt',
      'delete gone.txt',
      'put grown',
      'put new/file.txt',
      'put touched',
    ]);
    // A put carries the whole new entry.
    expect(changes.find((c) => changePath(c) === 'edit.txt')).toEqual({
      op: 'put',
      entry: to.get('edit.txt'),
    });
    expect(changes.find((c) => changePath(c) === 'touched')).toEqual({ op: 'put', entry: to.get('touched') });
    expect(renames).toEqual([]);
  });

  it('treats a change of hash, size or mtime alone as a modification', () => {
    const base = entry('f', 'abc');
    const cases: TreeEntry[] = [
      { ...base, hash: sha256Hex('abd') },
      { ...base, size: 4 },
      { ...base, mtime: base.mtime + 1 },
    ];
    for (const changed of cases) {
      expect(diffTrees(tree(base), tree(changed)).changes).toEqual([{ op: 'put', entry: changed }]);
    }
  });

  it('reports a rename beside the changes, which still carry it as delete + put', () => {
    const moved = entry('new/place.txt', 'content that moved', 5);
    const from = tree(entry('old/place.txt', 'content that moved', 5), entry('stay', 's'));
    const to = tree(moved, entry('stay', 's'));
    const { changes, renames } = diffTrees(from, to);
    expect(renames).toEqual([{ from: 'old/place.txt', to: 'new/place.txt' }]);
    expect(changes).toEqual([
      { op: 'put', entry: moved },
      { op: 'delete', path: 'old/place.txt' },
    ]);
  });

  it('reports a rename even when the moved file has a new mtime', () => {
    const from = tree(entry('a', 'payload', 1));
    const to = tree(entry('b', 'payload', 2));
    expect(diffTrees(from, to).renames).toEqual([{ from: 'a', to: 'b' }]);
  });

  it('pairs each deleted path with at most one new path', () => {
    const from = tree(entry('x1', 'dup'), entry('x2', 'dup'));
    const to = tree(entry('y1', 'dup'), entry('y2', 'dup'), entry('y3', 'dup'));
    const { changes, renames } = diffTrees(from, to);
    expect(renames).toHaveLength(2);
    expect(new Set(renames.map((r) => r.from))).toEqual(new Set(['x1', 'x2']));
    expect(new Set(renames.map((r) => r.to)).size).toBe(2);
    for (const r of renames) expect(['y1', 'y2', 'y3']).toContain(r.to);
    expect(summary(changes)).toEqual(['delete x1', 'delete x2', 'put y1', 'put y2', 'put y3']);
  });

  it('does not call a copy a rename when the source stays', () => {
    const from = tree(entry('a', 'same'));
    const to = tree(entry('a', 'same'), entry('b', 'same'));
    const { changes, renames } = diffTrees(from, to);
    expect(renames).toEqual([]);
    expect(summary(changes)).toEqual(['put b']);
  });

  it('does not call a modification of an existing path a rename', () => {
    // "b" exists on both sides and takes the content of the deleted "a": it is a put, not a rename target.
    const from = tree(entry('a', 'moved'), entry('b', 'old b'));
    const to = tree(entry('b', 'moved'));
    const { changes, renames } = diffTrees(from, to);
    expect(renames).toEqual([]);
    expect(summary(changes)).toEqual(['delete a', 'put b']);
  });

  it('does not call a delete and an unrelated create a rename', () => {
    const { renames } = diffTrees(tree(entry('a', 'one')), tree(entry('b', 'two')));
    expect(renames).toEqual([]);
  });

  it('sorts changes by UTF-8 bytes whatever the insertion order of either tree', () => {
    const from = tree(entry('😀', 'e'), entry('m', 'm'), entry('a/b', 'ab'));
    const to = tree(
      entry('\uff21', 'f'),
      entry('z', 'z'),
      entry('A', 'A'),
      entry('a.b', 'x'),
      entry('m', 'm2'),
    );
    const paths = diffTrees(from, to).changes.map(changePath);
    expect(paths).toEqual(['A', 'a.b', 'a/b', 'm', 'z', '\uff21', '😀']);
  });

  it('does not modify its inputs', () => {
    const from = tree(entry('a', '1'), entry('b', '2'));
    const to = tree(entry('b', '3'), entry('c', '1'));
    const fromCopy = structuredClone(from);
    const toCopy = structuredClone(to);
    diffTrees(from, to);
    expect(from).toEqual(fromCopy);
    expect(to).toEqual(toCopy);
  });
});

describe('changePath', () => {
  it('gives the path of a put and of a delete', () => {
    expect(changePath({ op: 'put', entry: entry('p/q', 'x') })).toBe('p/q');
    expect(changePath({ op: 'delete', path: 'r/s' })).toBe('r/s');
  });
});

describe('applyChanges', () => {
  it('puts and deletes without touching the base', () => {
    const base = tree(entry('a', '1'), entry('b', '2'));
    const next = applyChanges(base, [
      { op: 'put', entry: entry('c', '3') },
      { op: 'put', entry: entry('a', 'changed') },
      { op: 'delete', path: 'b' },
      { op: 'delete', path: 'never-there' },
    ]);
    expect(sortedEntries(next)).toEqual([entry('a', 'changed'), entry('c', '3')]);
    expect(sortedEntries(base)).toEqual([entry('a', '1'), entry('b', '2')]);
    expect(next).not.toBe(base);
  });

  it('applies changes in order (a later change to the same path wins)', () => {
    const next = applyChanges(new Map(), [
      { op: 'put', entry: entry('a', '1') },
      { op: 'delete', path: 'a' },
      { op: 'put', entry: entry('b', '1') },
      { op: 'put', entry: entry('b', '2') },
    ]);
    expect(sortedEntries(next)).toEqual([entry('b', '2')]);
  });

  it('round-trips diffTrees: applyChanges(a, diff(a, b).changes) equals b', () => {
    const a = tree(
      entry('keep', 'k'),
      entry('edit', 'e1'),
      entry('gone', 'g'),
      entry('move/from', 'moving'),
      entry('touch', 't', 1),
    );
    const b = tree(
      entry('keep', 'k'),
      entry('edit', 'e2'),
      entry('move/to', 'moving'),
      entry('touch', 't', 2),
      entry('new', 'n'),
    );
    expect(sortedEntries(applyChanges(a, diffTrees(a, b).changes))).toEqual(sortedEntries(b));
    expect(sortedEntries(applyChanges(b, diffTrees(b, a).changes))).toEqual(sortedEntries(a));
  });

  it('round-trips diffTrees on many random pairs of trees', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const randomTree = () => {
      const t = new Map<string, TreeEntry>();
      for (let i = 0; i < 12; i++) {
        if (next() < 0.5) continue;
        const path = `d${Math.floor(next() * 3)}/f${i}`;
        t.set(path, entry(path, `c${Math.floor(next() * 4)}`, 1 + Math.floor(next() * 2)));
      }
      return t;
    };
    for (let round = 0; round < 200; round++) {
      const a = randomTree();
      const b = randomTree();
      const { changes, renames } = diffTrees(a, b);
      expect(sortedEntries(applyChanges(a, changes))).toEqual(sortedEntries(b));
      // Every rename is a delete of a path of a and a put of a new path of b with the same content.
      for (const r of renames) {
        expect(a.has(r.from) && !b.has(r.from)).toBe(true);
        expect(b.has(r.to) && !a.has(r.to)).toBe(true);
        expect(b.get(r.to)!.hash).toBe(a.get(r.from)!.hash);
      }
      // Changes are sorted, one per path, and none is for an unchanged entry.
      const paths = changes.map(changePath);
      expect(paths).toEqual([...paths].sort(comparePaths));
      expect(new Set(paths).size).toBe(paths.length);
      for (const c of changes) if (c.op === 'put') expect(a.get(c.entry.path)).not.toEqual(c.entry);
    }
  });
});
