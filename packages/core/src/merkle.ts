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
    // Every leaf hash packed into one buffer, bucketed by a counting sort: a tree of 100,000
    // files would otherwise hold 100,000 small Buffers at once.
    let packed = Buffer.allocUnsafe(HASH_BYTES * 1024);
    let buckets = new Uint16Array(1024);
    let n = 0;
    for (const e of entries) {
      if (n === buckets.length) {
        const bigger = Buffer.allocUnsafe(packed.length * 2);
        packed.copy(bigger);
        packed = bigger;
        const more = new Uint16Array(buckets.length * 2);
        more.set(buckets);
        buckets = more;
      }
      const h = leafHash(e);
      h.copy(packed, n * HASH_BYTES);
      buckets[n] = bucketOf(h);
      n++;
    }
    const starts = new Uint32Array(ROOT_BUCKETS + 1);
    for (let i = 0; i < n; i++) starts[buckets[i]! + 1]!++;
    for (let b = 0; b < ROOT_BUCKETS; b++) starts[b + 1]! += starts[b]!;
    const order = new Uint32Array(n);
    const fill = starts.slice(0, ROOT_BUCKETS);
    for (let i = 0; i < n; i++) order[fill[buckets[i]!]!++] = i;
    const at = (i: number) => i * HASH_BYTES;
    const compare = (a: number, b: number) =>
      packed.compare(packed, at(b), at(b) + HASH_BYTES, at(a), at(a) + HASH_BYTES);
    for (let b = 0; b < ROOT_BUCKETS; b++) {
      const from = starts[b]!;
      const to = starts[b + 1]!;
      if (from === to) continue;
      const members = Array.from(order.subarray(from, to)).sort(compare);
      const leaves = Buffer.allocUnsafe((to - from) * HASH_BYTES);
      for (const [k, i] of members.entries()) {
        if (k > 0 && compare(members[k - 1]!, i) === 0)
          throw new Error('the same entry is in the tree twice');
        packed.copy(leaves, k * HASH_BYTES, at(i), at(i) + HASH_BYTES);
      }
      acc.#leaves[b] = leaves;
      acc.#bucketHashes[b] = hashBucket(leaves);
    }
    acc.#size = n;
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
    const touched = new Map<number, Buffer[]>();
    const listOf = (b: number): Buffer[] => {
      let list = touched.get(b);
      if (!list) {
        list = unpack(this.#leaves[b]);
        touched.set(b, list);
      }
      return list;
    };
    let size = this.#size;
    for (const leaf of removed) {
      const h = leafHash(leaf);
      const list = listOf(bucketOf(h));
      const at = search(list, h);
      if (at < 0) throw new Error(`root: ${leaf.path} is not in the tree`);
      list.splice(at, 1);
      size--;
    }
    for (const leaf of added) {
      const h = leafHash(leaf);
      const list = listOf(bucketOf(h));
      const at = search(list, h);
      if (at >= 0) throw new Error(`root: ${leaf.path} is already in the tree`);
      list.splice(-at - 1, 0, h);
      size++;
    }
    const packed = new Map<number, Buffer | undefined>();
    const hashes = new Map<number, Buffer | undefined>();
    for (const [b, list] of touched) {
      const leaves = list.length === 0 ? undefined : Buffer.concat(list);
      packed.set(b, leaves);
      hashes.set(b, leaves && hashBucket(leaves));
    }
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

function unpack(packed: Buffer | undefined): Buffer[] {
  if (!packed) return [];
  const out: Buffer[] = [];
  for (let i = 0; i < packed.length; i += HASH_BYTES) out.push(packed.subarray(i, i + HASH_BYTES));
  return out;
}

/** Binary search: the index of `h`, or -(insertion point) - 1. */
function search(list: Buffer[], h: Buffer): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = Buffer.compare(list[mid]!, h);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -lo - 1;
}

/** The root over these entries; the input order does not matter. */
export function merkleRoot(entries: Iterable<RootLeaf>): string {
  return RootAccumulator.of(entries).root;
}
