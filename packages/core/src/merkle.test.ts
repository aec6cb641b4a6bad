import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from './hash.js';
import { comparePaths, EMPTY_ROOT, merkleRoot, type RootLeaf } from './merkle.js';

const leaf = (path: string, content: string): RootLeaf => ({
  path,
  size: Buffer.byteLength(content),
  hash: sha256Hex(content),
});

/** An independent statement of the tree's shape: pairs hashed level by level, an odd one carried up. */
function referenceRoot(leaves: RootLeaf[]): string {
  const sorted = [...leaves].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  if (sorted.length === 0) return createHash('sha256').update('outpost:empty-tree').digest('hex');
  let level: Buffer[] = sorted.map((l) =>
    createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), Buffer.from(`${l.path}\0${l.size}\0${l.hash}`, 'utf8')]))
      .digest(),
  );
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(
        right
          ? createHash('sha256')
              .update(Buffer.concat([Buffer.from([1]), level[i]!, right]))
              .digest()
          : level[i]!,
      );
    }
    level = next;
  }
  return level[0]!.toString('hex');
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
      'c5c50df25dad5174855e9bf518f450eca6146e5192dbd4ac8b12e76e325f513c',
    );
    expect(merkleRoot([leaf('a.txt', 'hello'), leaf('b/c.txt', 'abc'), leaf('d', '')])).toBe(
      'd6a3ed1c7bbf740af9f4539504038b86b711fc2990833d5999cd073b4f264e03',
    );
  });

  it('is the domain-separated leaf hash for one entry', () => {
    const l = leaf('docs/readme.md', '# hi');
    const expected = createHash('sha256').update(`\0docs/readme.md\0${l.size}\0${l.hash}`).digest('hex');
    expect(merkleRoot([l])).toBe(expected);
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

  it('orders by UTF-8 bytes, not by UTF-16 code units', () => {
    // U+FF21 sorts after U+1F600 in UTF-16 (0xFF21 > 0xD83D) but before it in UTF-8 (EF.. < F0..).
    const fullwidth = leaf('\uff21', '1');
    const emoji = leaf('😀', '2');
    const other = leaf('z', '3');
    const expected = referenceRoot([fullwidth, emoji, other]);
    expect(merkleRoot([emoji, fullwidth, other])).toBe(expected);
    expect(merkleRoot([other, fullwidth, emoji])).toBe(expected);
  });
});

describe('comparePaths', () => {
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
