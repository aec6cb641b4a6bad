import { createHash } from 'node:crypto';

/** The fields of an entry that identify a version: what is served, where. */
export interface RootLeaf {
  path: string;
  size: number;
  hash: string;
}

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
const SEP = Buffer.from([0]);

/** Compares paths by their UTF-8 bytes, the order every side agrees on. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function leafHash(leaf: RootLeaf): Buffer {
  // Domain-separated so a leaf can never be mistaken for an inner node.
  return createHash('sha256')
    .update(LEAF)
    .update(leaf.path, 'utf8')
    .update(SEP)
    .update(String(leaf.size))
    .update(SEP)
    .update(leaf.hash)
    .digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The hex root of an empty tree. */
export const EMPTY_ROOT = createHash('sha256').update('outpost:empty-tree').digest('hex');

/** Merkle root over the entries sorted by path; the input order does not matter. */
export function merkleRoot(entries: Iterable<RootLeaf>): string {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  if (sorted.length === 0) return EMPTY_ROOT;
  let level = sorted.map(leafHash);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1];
      // An odd node is carried up unchanged.
      next.push(right ? nodeHash(left, right) : left);
    }
    level = next;
  }
  return level[0]!.toString('hex');
}
