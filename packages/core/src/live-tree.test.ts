import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Change } from './diff.js';
import type { TreeEntry } from './entry.js';
import { sha256Hex } from './hash.js';
import { LiveTree } from './live-tree.js';
import { merkleRoot } from './merkle.js';
import { findCaseCollision } from './paths.js';

const entry = (path: string, content: string, mtime = 1): TreeEntry => ({
  path,
  size: Buffer.byteLength(content),
  hash: sha256Hex(content),
  mtime,
  chunks: [],
});

const dirsOf = (paths: Iterable<string>): Set<string> => {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return dirs;
};

describe('LiveTree', () => {
  it('after any sequence of batches, holds what a map would and the root, totals and dirs of a fresh count', () => {
    const path = fc.constantFrom('a', 'b/c', 'b/d', 'b/e/f', 'g/h/i/j', 'k');
    const change = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), path }),
      fc.record({
        op: fc.constant('put' as const),
        path,
        v: fc.integer({ min: 0, max: 3 }),
        m: fc.integer({ min: 1, max: 2 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(change, { maxLength: 6 }), { maxLength: 12 }), (batches) => {
        const live = new LiveTree();
        const model = new Map<string, TreeEntry>();
        for (const batch of batches) {
          const changes: Change[] = batch.map((c) =>
            c.op === 'delete' ? c : { op: 'put', entry: entry(c.path, `v${c.v}`, c.m) },
          );
          const plan = live.plan(changes);
          for (const c of changes) {
            if (c.op === 'delete') model.delete(c.path);
            else model.set(c.entry.path, c.entry);
          }
          expect(plan.root).toBe(merkleRoot(model.values()));
          expect(plan.files).toBe(model.size);
          plan.commit();
          expect(new Map(live.entries)).toEqual(model);
          expect(live.root).toBe(merkleRoot(model.values()));
          expect(live.bytes).toBe([...model.values()].reduce((n, e) => n + e.size, 0));
          for (const d of dirsOf(model.keys())) expect(live.hasDir(d)).toBe(true);
          for (const d of ['b', 'b/e', 'g', 'g/h', 'g/h/i'])
            expect(live.hasDir(d)).toBe(dirsOf(model.keys()).has(d));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves out deletes of absent paths and puts of identical entries', () => {
    const live = new LiveTree([entry('a', '1')]);
    const plan = live.plan([
      { op: 'delete', path: 'absent' },
      { op: 'put', entry: entry('a', '1') },
    ]);
    expect(plan.effective).toEqual([]);
    expect(plan.root).toBe(live.root);
  });

  it('changes nothing until commit', () => {
    const live = new LiveTree([entry('a', '1')]);
    const before = live.root;
    live.plan([{ op: 'put', entry: entry('b/c', '2') }]);
    expect(live.root).toBe(before);
    expect(live.entries.has('b/c')).toBe(false);
    expect(live.hasDir('b')).toBe(false);
  });

  it('finds the case collisions a whole-tree check would find', () => {
    const live = new LiveTree([entry('Docs/a.txt', '1'), entry('readme', '2')]);
    const put = (p: string): Change => ({ op: 'put', entry: entry(p, 'x') });
    expect(live.caseCollision([put('docs/A.TXT')])).toEqual(['Docs/a.txt', 'docs/A.TXT']);
    expect(live.caseCollision([put('new'), put('NEW')])).toEqual(['new', 'NEW']);
    // The kept path leaves in the same batch: no collision.
    expect(live.caseCollision([{ op: 'delete', path: 'readme' }, put('README')])).toBeNull();
    expect(live.caseCollision([put('readme')])).toBeNull();
    expect(live.foldedTwin('DOCS/A.txt')).toBe('Docs/a.txt');
    const whole = findCaseCollision([...live.entries.keys(), 'docs/A.TXT']);
    expect(whole).not.toBeNull();
  });

  it('finds a folder by its folded name while some file lies under it', () => {
    const live = new LiveTree([entry('a/cafe\u0301/x.txt', '1'), entry('a/cafe\u0301/y.txt', '2')]);
    expect(live.foldedDirTwin('A/CAF\u00c9')).toBe('a/cafe\u0301');
    expect(live.foldedDirTwin('a')).toBe('a');
    const del = (path: string): Change => ({ op: 'delete', path });
    live.plan([del('a/cafe\u0301/x.txt')]).commit();
    expect(live.foldedDirTwin('a/caf\u00e9')).toBe('a/cafe\u0301');
    live.plan([del('a/cafe\u0301/y.txt')]).commit();
    expect(live.foldedDirTwin('a/caf\u00e9')).toBeUndefined();
    expect(live.foldedDirTwin('a')).toBeUndefined();
  });

  it('tells, for a tree built whole, the paths that differ only in case', () => {
    const e = (path: string) => ({ path, size: 1, hash: 'a'.repeat(64), mtime: 0, chunks: [] });
    expect(new LiveTree([e('a/Read.me'), e('b/read.me')]).caseTwins()).toBeNull();
    expect(new LiveTree([e('a/Read.me'), e('x'), e('a/READ.ME')]).caseTwins()).toEqual([
      'a/READ.ME',
      'a/Read.me',
    ]);
  });
});
