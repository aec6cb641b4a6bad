import { createHash, hash as oneShot } from 'node:crypto';

/** The fields of an entry that identify a version: what is served, where. */
export interface RootLeaf {
  path: string;
  size: number;
  hash: string;
}

// Domain separation: a leaf, a bucket and the root can never be mistaken for one another.
const BUCKET = Buffer.from([1]);
const ROOT = Buffer.from([2]);

/** Leaves are spread over this many buckets by the first 12 bits of their hash. */
export const ROOT_BUCKETS = 4096;
const HASH_BYTES = 32;

/** Compares paths by their UTF-8 bytes, the order every side agrees on. */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

// UTF-16 code units sort like UTF-8 bytes (code points) once surrogates, which stand for
// code points above U+FFFF, are moved above U+E000–FFFF (ICU's code point order fix-up).
const codePointOrder = (c: number): number => (c >= 0xe000 ? c - 0x800 : c >= 0xd800 ? c + 0x2000 : c);

/** The hash of one leaf: sha256(0x00 ‖ path ‖ 0x00 ‖ size ‖ 0x00 ‖ hash). */
export function leafHash(leaf: RootLeaf): Buffer {
  // One-shot hashing of one string: several times faster than a Hash object per leaf.
  return oneShot('sha256', `\0${leaf.path}\0${leaf.size}\0${leaf.hash}`, 'buffer');
}

const bucketOf = (leaf: Buffer): number => (leaf[0]! << 4) | (leaf[1]! >> 4);

/** The hex root of an empty tree. */
export const EMPTY_ROOT = createHash('sha256').update('outpost:empty-tree').digest('hex');

/**
 * The root of a version, kept up to date change by change. Leaves are spread over 4096
 * buckets by their own hash; a bucket hashes its leaves in hash order, and the root hashes
 * the non-empty buckets with their numbers. So a change rehashes one small bucket and the
 * 4096 bucket hashes (128 KiB), never the whole tree: the cost is the change's, at any size.
 *
 *   bucket = sha256(0x01 ‖ leaf hashes of the bucket, ascending)
 *   root   = sha256(0x02 ‖ for each non-empty bucket, ascending: u16be(number) ‖ bucket hash)
 *   empty tree: EMPTY_ROOT
 */
export class RootAccumulator {
  /** Each bucket's leaf hashes, sorted, packed 32 bytes apiece. */
  readonly #leaves: (Buffer | undefined)[] = new Array(ROOT_BUCKETS).fill(undefined);
  readonly #bucketHashes: (Buffer | undefined)[] = new Array(ROOT_BUCKETS).fill(undefined);
  #size = 0;
  #root = EMPTY_ROOT;

  /** An accumulator over these entries. */
  static of(entries: Iterable<RootLeaf>): RootAccumulator {
    const acc = new RootAccumulator();
    const g = groupLeaves(entries);
    for (let b = 0; b < ROOT_BUCKETS; b++) {
      const from = g.starts[b]!;
      const to = g.starts[b + 1]!;
      if (from === to) continue;
      const leaves = Buffer.allocUnsafe((to - from) * HASH_BYTES);
      for (let k = from; k < to; k++) {
        if (k > from && g.compare(g.order[k - 1]!, g.order[k]!) === 0)
          throw new Error('the same entry is in the tree twice');
        g.copy(g.order[k]!, leaves, (k - from) * HASH_BYTES);
      }
      acc.#leaves[b] = leaves;
      acc.#bucketHashes[b] = hashBucket(leaves);
    }
    acc.#size = g.leaves.length;
    acc.#root = acc.#computeRoot(new Map());
    return acc;
  }

  /** The hex root now. */
  get root(): string {
    return this.#root;
  }

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  /**
   * The root after removing `removed` and adding `added`, without changing anything; `apply()`
   * of the result makes it so. A removed leaf must be held and an added one must not be.
   */
  preview(removed: Iterable<RootLeaf>, added: Iterable<RootLeaf>): { root: string; apply: () => void } {
    // Both sides packed and grouped by bucket, then merged bucket by bucket with what is held:
    // a first sync of 100,000 files would otherwise hold 100,000 small Buffers at its peak.
    const rem = groupLeaves(removed);
    const add = groupLeaves(added);
    const packed = new Map<number, Buffer | undefined>();
    const hashes = new Map<number, Buffer | undefined>();
    for (let b = 0; b < ROOT_BUCKETS; b++) {
      if (rem.starts[b] === rem.starts[b + 1] && add.starts[b] === add.starts[b + 1]) continue;
      const leaves = mergeBucket(this.#leaves[b], b, rem, add);
      packed.set(b, leaves);
      hashes.set(b, leaves && hashBucket(leaves));
    }
    const size = this.#size - rem.leaves.length + add.leaves.length;
    const root = size === 0 ? EMPTY_ROOT : this.#computeRoot(hashes);
    return {
      root,
      apply: () => {
        for (const [b, leaves] of packed) {
          this.#leaves[b] = leaves;
          this.#bucketHashes[b] = hashes.get(b);
        }
        this.#size = size;
        this.#root = root;
      },
    };
  }

  #computeRoot(overrides: Map<number, Buffer | undefined>): string {
    const h = createHash('sha256').update(ROOT);
    const num = Buffer.alloc(2);
    let any = false;
    for (let b = 0; b < ROOT_BUCKETS; b++) {
      const bucket = overrides.has(b) ? overrides.get(b) : this.#bucketHashes[b];
      if (!bucket) continue;
      num.writeUInt16BE(b);
      h.update(num).update(bucket);
      any = true;
    }
    return any ? h.digest('hex') : EMPTY_ROOT;
  }
}

function hashBucket(leaves: Buffer): Buffer {
  return createHash('sha256').update(BUCKET).update(leaves).digest();
}

/** Leaf hashes packed 32 bytes apiece, grouped by bucket and ascending within each bucket. */
interface LeafGroups {
  /** The leaves, in the order given. */
  leaves: RootLeaf[];
  /** Indices into `leaves`: bucket 0's first, each bucket's ascending by leaf hash. */
  order: Uint32Array;
  /** Bucket b's indices are order[starts[b]] up to order[starts[b + 1]]. */
  starts: Uint32Array;
  /** Compares the leaf hashes of leaves i and j. */
  compare(i: number, j: number): number;
  /** Copies leaf i's hash into `to` at `offset`. */
  copy(i: number, to: Buffer, offset: number): void;
  /** The leaf hash of leaf i (a view, not a copy). */
  hashOf(i: number): Buffer;
}

/** No leaves: shared, as one side of most changes is empty (read only). */
const NO_LEAVES: LeafGroups = {
  leaves: [],
  order: new Uint32Array(0),
  starts: new Uint32Array(ROOT_BUCKETS + 1),
  compare: () => 0,
  copy: () => {},
  hashOf: () => Buffer.alloc(0),
};

function groupLeaves(input: Iterable<RootLeaf>): LeafGroups {
  const leaves = Array.isArray(input) ? (input as RootLeaf[]) : [...input];
  const n = leaves.length;
  if (n === 0) return NO_LEAVES;
  const packed = Buffer.allocUnsafe(n * HASH_BYTES);
  const bucket = new Uint16Array(n);
  const starts = new Uint32Array(ROOT_BUCKETS + 1);
  for (let i = 0; i < n; i++) {
    const h = leafHash(leaves[i]!);
    h.copy(packed, i * HASH_BYTES);
    bucket[i] = bucketOf(h);
    starts[bucket[i]! + 1]!++;
  }
  for (let b = 0; b < ROOT_BUCKETS; b++) starts[b + 1]! += starts[b]!;
  // A counting sort by bucket, then a sort of each bucket's few members by hash.
  const order = new Uint32Array(n);
  const fill = starts.slice(0, ROOT_BUCKETS);
  for (let i = 0; i < n; i++) order[fill[bucket[i]!]!++] = i;
  const at = (i: number) => i * HASH_BYTES;
  // buf.compare(target, tStart, tEnd, sStart, sEnd) compares the source range to the target's.
  const compare = (i: number, j: number) =>
    packed.compare(packed, at(j), at(j) + HASH_BYTES, at(i), at(i) + HASH_BYTES);
  for (let b = 0; b < ROOT_BUCKETS; b++) {
    const from = starts[b]!;
    const to = starts[b + 1]!;
    if (to - from > 1) order.set(Array.from(order.subarray(from, to)).sort(compare), from);
  }
  return {
    leaves,
    order,
    starts,
    compare,
    copy: (i, to, offset) => void packed.copy(to, offset, at(i), at(i) + HASH_BYTES),
    hashOf: (i) => packed.subarray(at(i), at(i) + HASH_BYTES),
  };
}

/**
 * Bucket b's packed leaves after taking out `rem`'s and putting in `add`'s members of it
 * (undefined when none are left). Throws when a removed leaf is not held or an added one is.
 */
function mergeBucket(held: Buffer | undefined, b: number, rem: LeafGroups, add: LeafGroups) {
  const heldN = held ? held.length / HASH_BYTES : 0;
  const heldAt = (i: number) => held!.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  const remEnd = rem.starts[b + 1]!;
  const addEnd = add.starts[b + 1]!;
  let r = rem.starts[b]!;
  let a = add.starts[b]!;
  const out = Buffer.allocUnsafe((heldN + addEnd - a) * HASH_BYTES);
  let o = 0;
  const notHeld = (k: number) => new Error(`root: ${rem.leaves[rem.order[k]!]!.path} is not in the tree`);
  const already = (k: number) => new Error(`root: ${add.leaves[add.order[k]!]!.path} is already in the tree`);
  for (let i = 0; i < heldN || a < addEnd; ) {
    if (r < remEnd) {
      if (i >= heldN) throw notHeld(r);
      const c = Buffer.compare(heldAt(i), rem.hashOf(rem.order[r]!));
      if (c === 0) {
        i++;
        r++;
        continue;
      }
      if (c > 0) throw notHeld(r);
    }
    const c =
      a < addEnd && i < heldN ? Buffer.compare(add.hashOf(add.order[a]!), heldAt(i)) : a < addEnd ? -1 : 1;
    if (c > 0) {
      held!.copy(out, o * HASH_BYTES, i * HASH_BYTES, (i + 1) * HASH_BYTES);
      i++;
    } else {
      const h = add.hashOf(add.order[a]!);
      if (c === 0 || (o > 0 && Buffer.compare(out.subarray((o - 1) * HASH_BYTES, o * HASH_BYTES), h) === 0))
        throw already(a);
      h.copy(out, o * HASH_BYTES);
      a++;
    }
    o++;
  }
  if (r < remEnd) throw notHeld(r);
  if (o === 0) return undefined;
  return o * HASH_BYTES === out.length ? out : Buffer.from(out.subarray(0, o * HASH_BYTES));
}

/** The root over these entries; the input order does not matter. */
export function merkleRoot(entries: Iterable<RootLeaf>): string {
  return RootAccumulator.of(entries).root;
}
