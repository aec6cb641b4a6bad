import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from './hash.js';
import { comparePaths, EMPTY_ROOT, merkleRoot, RootAccumulator, type RootLeaf } from './merkle.js';

const leaf = (path: string, content: string): RootLeaf => ({
  path,
  size: Buffer.byteLength(content),
  hash: sha256Hex(content),
});

/** An independent statement of the root: leaves hashed, bucketed by 12 bits, buckets hashed, then the root. */
function referenceRoot(leaves: RootLeaf[]): string {
  if (leaves.length === 0) return createHash('sha256').update('outpost:empty-tree').digest('hex');
  const buckets: Buffer[][] = Array.from({ length: 4096 }, () => []);
  for (const l of leaves) {
    const h = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), Buffer.from(`${l.path}\0${l.size}\0${l.hash}`, 'utf8')]))
      .digest();
    buckets[h.readUInt16BE(0) >> 4]!.push(h);
  }
  const parts: Buffer[] = [Buffer.from([2])];
  buckets.forEach((list, i) => {
    if (list.length === 0) return;
    list.sort(Buffer.compare);
    const num = Buffer.alloc(2);
    num.writeUInt16BE(i);
    parts.push(
      num,
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([1]), ...list]))
        .digest(),
    );
  });
  return createHash('sha256').update(Buffer.concat(parts)).digest('hex');
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const sample = (n: number): RootLeaf[] =>
  Array.from({ length: n }, (_, i) => leaf(`dir${i % 3}/file-${i}.txt`, `content ${i}`));

describe('EMPTY_ROOT', () => {
  it('is a fixed constant, the root of every empty tree', () => {
    expect(EMPTY_ROOT).toBe('b5427a4761486015be2facbee609de08b70984242924ac4aab73018efb969dd8');
    expect(merkleRoot([])).toBe(EMPTY_ROOT);
    expect(merkleRoot(new Map().values())).toBe(EMPTY_ROOT);
  });

  it('is not the root of a one-entry tree of empty content', () => {
    expect(merkleRoot([leaf('empty', '')])).not.toBe(EMPTY_ROOT);
    expect(EMPTY_ROOT).not.toBe(sha256Hex(''));
  });
});

describe('merkleRoot', () => {
  it('matches known roots (both sides of the wire must agree byte for byte)', () => {
    expect(merkleRoot([leaf('a.txt', 'hello')])).toBe(
      'b1009b118aed7201d3be9c96ceffbd027107e440ee64965e28ddc30e1e3f9eb2',
    );
    expect(merkleRoot([leaf('a.txt', 'hello'), leaf('b/c.txt', 'abc'), leaf('d', '')])).toBe(
      '88026d2ade75a6c89656dccf1caf8ce316b3332605226145a5b337efcc1adccf',
    );
  });

  it('matches an independent computation for every count from 1 to 33 (odd counts included)', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = sample(n);
      expect(merkleRoot(leaves), `n=${n}`).toBe(referenceRoot(leaves));
    }
  });

  it('is 64 lowercase hex digits', () => {
    for (const n of [0, 1, 2, 3, 5]) expect(merkleRoot(sample(n))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the input order', () => {
    for (const n of [2, 3, 7, 16, 17]) {
      const leaves = sample(n);
      const root = merkleRoot(leaves);
      expect(merkleRoot([...leaves].reverse())).toBe(root);
      for (let seed = 1; seed <= 5; seed++) expect(merkleRoot(shuffled(leaves, seed))).toBe(root);
    }
  });

  it('does not modify its input', () => {
    const leaves = [leaf('b', '1'), leaf('a', '2')];
    const copy = structuredClone(leaves);
    merkleRoot(leaves);
    expect(leaves).toEqual(copy);
  });

  it('accepts any iterable, such as the values of a map', () => {
    const leaves = sample(5);
    const map = new Map(leaves.map((l) => [l.path, l]));
    expect(merkleRoot(map.values())).toBe(merkleRoot(leaves));
  });

  it('covers only path, size and hash: mtime and chunks do not change it', () => {
    const base = { path: 'a', size: 3, hash: sha256Hex('abc') };
    const withExtras = { ...base, mtime: 123, chunks: [{ hash: sha256Hex('abc'), size: 3 }] };
    const otherExtras = { ...base, mtime: 999, chunks: [] };
    expect(merkleRoot([withExtras])).toBe(merkleRoot([base]));
    expect(merkleRoot([otherExtras])).toBe(merkleRoot([base]));
  });

  it('changes when any path, size or hash changes, at every position, for odd and even counts', () => {
    for (const n of [1, 2, 3, 4, 5, 8, 9]) {
      const leaves = sample(n);
      const root = merkleRoot(leaves);
      const seen = new Set([root]);
      for (let i = 0; i < n; i++) {
        const variants: RootLeaf[] = [
          { ...leaves[i]!, path: `${leaves[i]!.path}.renamed` },
          { ...leaves[i]!, size: leaves[i]!.size + 1 },
          { ...leaves[i]!, hash: sha256Hex(`other ${i}`) },
        ];
        for (const variant of variants) {
          const changed = leaves.map((l, j) => (j === i ? variant : l));
          const changedRoot = merkleRoot(changed);
          expect(changedRoot, `n=${n} i=${i}`).not.toBe(root);
          seen.add(changedRoot);
        }
      }
      // Every single change gives a distinct root.
      expect(seen.size).toBe(1 + 3 * n);
    }
  });

  it('changes when an entry is added or removed', () => {
    const leaves = sample(6);
    const root = merkleRoot(leaves);
    expect(merkleRoot(leaves.slice(1))).not.toBe(root);
    expect(merkleRoot(leaves.slice(0, -1))).not.toBe(root);
    expect(merkleRoot([...leaves, leaf('new', 'x')])).not.toBe(root);
  });

  it('does not confuse the fields of a leaf with each other', () => {
    // "a" size 12 vs "a1" size 2: naive concatenation would make these ambiguous.
    const h = sha256Hex('x');
    expect(merkleRoot([{ path: 'a', size: 12, hash: h }])).not.toBe(
      merkleRoot([{ path: 'a1', size: 2, hash: h }]),
    );
  });

  it('does not let a two-entry tree collide with its one-entry children', () => {
    const [a, b] = sample(2) as [RootLeaf, RootLeaf];
    const pair = merkleRoot([a, b]);
    expect(pair).not.toBe(merkleRoot([a]));
    expect(pair).not.toBe(merkleRoot([b]));
  });

  it('matches the reference for a large tree', () => {
    const leaves = sample(20_000);
    expect(merkleRoot(leaves)).toBe(referenceRoot(leaves));
  });
});

describe('RootAccumulator', () => {
  it('gives, change by change, the root a fresh computation gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean(), fc.integer({ min: 0, max: 3 })), {
          maxLength: 60,
        }),
        (steps) => {
          const tree = new Map<string, RootLeaf>();
          const acc = RootAccumulator.of([]);
          for (const [n, put, v] of steps) {
            const path = `p/${n}`;
            const old = tree.get(path);
            const next = put ? leaf(path, `v${v}`) : undefined;
            const removed = old ? [old] : [];
            const added = next ? [next] : [];
            if (next) tree.set(path, next);
            else tree.delete(path);
            const p = acc.preview(removed, added);
            expect(p.root).toBe(merkleRoot(tree.values()));
            p.apply();
            expect(acc.root).toBe(p.root);
            expect(acc.size).toBe(tree.size);
          }
          expect(acc.root).toBe(referenceRoot([...tree.values()]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the fresh root for batches of changes, many to a bucket', () => {
    // Up to 300 paths over a few values: batches remove and add dozens at once, and with 4,096
    // buckets some share one, so a bucket's merge takes several removals and additions.
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -1, max: 2 })), {
            maxLength: 80,
          }),
          {
            maxLength: 6,
          },
        ),
        (batches) => {
          const tree = new Map<string, RootLeaf>();
          const acc = RootAccumulator.of([]);
          for (const batch of batches) {
            const next = new Map(tree);
            for (const [n, v] of batch) {
              if (v < 0) next.delete(`p/${n}`);
              else next.set(`p/${n}`, leaf(`p/${n}`, `v${v}`));
            }
            const removed = [...tree.values()].filter((l) => next.get(l.path) !== l);
            const added = [...next.values()].filter((l) => tree.get(l.path) !== l);
            const p = acc.preview(removed, added);
            expect(p.root).toBe(referenceRoot([...next.values()]));
            p.apply();
            tree.clear();
            for (const [k, l] of next) tree.set(k, l);
            expect(acc.size).toBe(tree.size);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a batch that adds the same leaf twice or removes one twice', () => {
    const acc = RootAccumulator.of(sample(3));
    const fresh = leaf('new', 'x');
    expect(() => acc.preview([], [fresh, fresh])).toThrow(/new is already in the tree/);
    const held = sample(3)[1]!;
    expect(() => acc.preview([held, held], [])).toThrow(/not in the tree/);
  });

  it('changes nothing until a preview is applied', () => {
    const acc = RootAccumulator.of(sample(10));
    const before = acc.root;
    const p = acc.preview([sample(10)[3]!], [leaf('new', 'x')]);
    expect(p.root).not.toBe(before);
    expect(acc.root).toBe(before);
    p.apply();
    expect(acc.root).toBe(p.root);
  });

  it('refuses to remove a leaf it does not hold or to add one twice', () => {
    const acc = RootAccumulator.of(sample(3));
    expect(() => acc.preview([leaf('absent', 'x')], [])).toThrow(/not in the tree/);
    expect(() => acc.preview([], [sample(3)[0]!])).toThrow(/already in the tree/);
    expect(() => RootAccumulator.of([leaf('a', '1'), leaf('a', '1')])).toThrow(/twice/);
  });

  it('returns to the empty root when the last leaf goes', () => {
    const one = leaf('a', '1');
    const acc = RootAccumulator.of([one]);
    acc.preview([one], []).apply();
    expect(acc.root).toBe(EMPTY_ROOT);
  });
});

describe('comparePaths', () => {
  it('agrees with a comparison of UTF-8 bytes for any two strings of code points', () => {
    const text = fc.string({ unit: 'binary', maxLength: 8 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        expect(Math.sign(comparePaths(a, b))).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('orders by UTF-8 bytes', () => {
    expect(comparePaths('a', 'b')).toBeLessThan(0);
    expect(comparePaths('b', 'a')).toBeGreaterThan(0);
    expect(comparePaths('a', 'a')).toBe(0);
    expect(comparePaths('a', 'a/b')).toBeLessThan(0);
    expect(comparePaths('B', 'a')).toBeLessThan(0);
    expect(comparePaths('a/b', 'a.b')).toBeGreaterThan(0); // '/' is 0x2f, '.' is 0x2e
    expect(comparePaths('\uff21', '😀')).toBeLessThan(0);
    expect('\uff21' < '😀').toBe(false); // what plain string comparison would say
  });

  it('sorts a list the same way whatever its starting order', () => {
    const paths = ['z', 'a/b', 'a', 'é', 'e', '😀', '\uff21', 'a.b', 'A'];
    const expected = ['A', 'a', 'a.b', 'a/b', 'e', 'z', 'é', '\uff21', '😀'];
    expect([...paths].sort(comparePaths)).toEqual(expected);
    expect([...paths].reverse().sort(comparePaths)).toEqual(expected);
  });
});
