import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  applyChunkListEdit,
  applyChunkPatch,
  type Change,
  type ChunkRef,
  chunkListDigest,
  createSha256,
  diffTrees,
  formatBytes,
  LiveTree,
  type TreeEntry,
  treeEntry,
} from '@outpost/core';
import {
  type ChunkPatchWire,
  type FetchProgress,
  LIMITS,
  type Manifest,
  type PutChange,
  type WireChange,
} from '@outpost/protocol';
import {
  type PlacedChunk,
  type Store,
  WAL_CAP_BYTES,
  type WalRoom,
  walOverheadBytes,
  walRoom,
} from '@outpost/store';
import type { Logger } from 'pino';
import { type Snapshot, snapshotOf } from '../serve/snapshot.js';
import type { BatchShortfall, WantedChunk } from './chunk-fetcher.js';
import { Progress } from './fetch-progress.js';
import { type FetchedChunk, keepIntact } from './keep-intact.js';

/** Why a manifest was not applied; the reason goes into the NACK and the status. */
export class ApplyError extends Error {
  override name = 'ApplyError';
  /** The master answered that it has no chunk of the version: collected there, most likely. */
  gone = false;
}

export interface ApplyDeps {
  store: Store;
  /** Fetches a chunk the store lacks, verified against its address. */
  fetchChunk: (hash: string, size: number) => Promise<Buffer>;
  /**
   * Fetches many chunks in one request, handing them to `keep`, which verifies and stores them
   * and returns the hashes it refused; resolves to the hashes not had intact (refused ones too)
   * and those the master does not have.
   */
  fetchBatch?: (
    wanted: WantedChunk[],
    keep: (chunks: { hash: string; data: Buffer }[]) => string[],
  ) => Promise<BatchShortfall>;
  /** A content's chunk list, from the master: for a chunk-list delta whose base is not held as named. */
  fetchChunkList?: (hash: string) => Promise<ChunkRef[]>;
  /** Single chunks fetched at once. */
  concurrency?: number;
  /** Batches fetched at once. */
  batchConcurrency?: number;
  /**
   * The store's room to grow (free space on its volume and its own free pages) and the part of
   * it kept free: a fetch whose chunks cannot fit is refused before it starts, rather than
   * downloaded until the disk is full, and again at every retry. The chunks pass through
   * SQLite's WAL on their way into the database, so they need room there too (see
   * {@link roomNeeded}); `wal` tells how the WAL stands (by default, read from the store).
   */
  diskSpace?: { free: () => number; reserve: number; wal?: () => WalRoom };
  /** Told how the fetch goes: files whose chunks are all held, bytes fetched, of how many. */
  onProgress?: (p: FetchProgress) => void;
  log?: Logger;
}

/** What every part of a manifest carries alike. */
export type ManifestHead = Pick<Manifest, 'version' | 'root' | 'from' | 'full'>;

/**
 * Applies a manifest on top of the current snapshot, whole or not at all: plans the target
 * tree, checks its root against the one the master published, gets every missing chunk
 * (verified), checks every new file's hash, then commits the version in one transaction.
 * Returns the new snapshot, which the caller switches readers to at once: a delta updates the
 * current snapshot's live tree in place, so `current` is spent after a success.
 */
export async function applyManifest(current: Snapshot, m: Manifest, d: ApplyDeps): Promise<Snapshot> {
  const assembly = new ManifestAssembly(current, m, d);
  await assembly.add(m.changes);
  return assembly.finish();
}

/**
 * A manifest taken in part by part (or whole, as one part): each part's changes are checked
 * and kept as tree entries as they come, so no more than a part is ever held as the message
 * it came in; `fetch` gets the content of what was taken in so far, and `finish` plans, checks
 * the root and commits as one.
 */
export class ManifestAssembly {
  readonly head: ManifestHead;
  readonly #current: Snapshot;
  readonly #d: ApplyDeps;
  /** A delta's changes, in order. */
  readonly #changes: Change[] = [];
  /** A full manifest's tree as it comes: the last word on each path. */
  readonly #whole = new Map<string, TreeEntry>();
  /** Puts taken in whose content has not been fetched and checked yet. */
  #unfetched: TreeEntry[] = [];
  /**
   * The chunks its fetches asked for (references to hashes its entries hold anyway): on a
   * full disk the version is refused, and what it stored is dropped (see {@link stored}).
   */
  readonly #asked: string[] = [];
  readonly #progress: Progress;

  constructor(current: Snapshot, head: ManifestHead, d: ApplyDeps) {
    if (head.version <= current.version) {
      throw new ApplyError(`version ${head.version} is not newer than the version held (${current.version})`);
    }
    if (!head.full && head.from !== current.version) {
      throw new ApplyError(`manifest starts at version ${head.from}, but version ${current.version} is held`);
    }
    this.head = { version: head.version, root: head.root, from: head.from, full: head.full };
    this.#current = current;
    this.#d = d;
    this.#progress = new Progress(d.onProgress);
  }

  /** The chunks its fetches asked for so far: those stored may be dropped if the version fails. */
  get stored(): readonly string[] {
    return this.#asked;
  }

  /** Changes taken in so far (a full manifest: the paths it puts). */
  get size(): number {
    return this.head.full ? this.#whole.size : this.#changes.length;
  }

  /** Takes in the next changes, in manifest order; small content riding inline is kept at once. */
  async add(changes: readonly WireChange[]): Promise<void> {
    const store = this.#d.store;
    const held = heldContents(changes, store);
    for (const change of changes) {
      if (change.op === 'delete') {
        if (this.head.full) this.#whole.delete(change.path);
        else this.#changes.push(change);
        continue;
      }
      const { path, size, hash, mtime } = change;
      // Content already held is already verified: it keeps the chunk list it was verified with,
      // whatever list this manifest names, so the bytes served under a hash never change.
      const heldList = held.get(hash);
      const chunks = heldList
        ? heldList.map((c) => ({ hash: c.hash, size: c.size }))
        : await chunkListOf(change, this.#d);
      const entry = treeEntry(path, size, hash, mtime, chunks);
      if (!heldList && change.data !== undefined) storeInline(entry, change.data, store);
      if (!heldList && change.patches) storePatched(entry, change.patches, store);
      // Held content too: a chunk of it dropped as damaged at rest is fetched again here.
      this.#unfetched.push(entry);
      if (this.head.full) this.#whole.set(path, entry);
      else this.#changes.push({ op: 'put', entry });
    }
  }

  /**
   * Fetches (verified) the chunks that what was taken in so far lacks, and checks each new
   * file's hash. A manifest in parts does this part by part, so its bookkeeping stays the size
   * of a part; content fetched for a version that then fails is kept for the next try.
   */
  async fetch(): Promise<void> {
    const puts = this.#unfetched;
    this.#unfetched = [];
    await fetchMissing(puts, this.#d, this.#progress, this.#asked);
    await verifyContents(puts, this.#d.store);
  }

  /** Plans the tree, checks its root, fetches what is left, and commits the version. */
  async finish(): Promise<Snapshot> {
    return this.head.full ? this.#finishWhole() : this.#finishDelta();
  }

  /** A full manifest: a whole new tree, built in one go, which no reader sees before the commit. */
  async #finishWhole(): Promise<Snapshot> {
    const { head } = this;
    const tree = new LiveTree(this.#whole.values());
    this.#whole.clear();
    const twins = tree.caseTwins();
    if (twins) throw new ApplyError(`paths differ only in case: ${twins[0]} and ${twins[1]}`);
    if (tree.root !== head.root)
      throw new ApplyError(`root mismatch: the changes give ${tree.root}, the master published ${head.root}`);
    await this.fetch();
    this.#commit(tree, diffTrees(this.#current.tree, tree.entries).changes);
    return snapshotOf(head.version, tree);
  }

  /** A delta, planned on the live tree, which keeps serving unchanged until the commit. */
  async #finishDelta(): Promise<Snapshot> {
    const { head } = this;
    const live = this.#current.live;
    const collision = live.caseCollision(this.#changes);
    if (collision) throw new ApplyError(`paths differ only in case: ${collision[0]} and ${collision[1]}`);
    const plan = live.plan(this.#changes);
    if (plan.root !== head.root)
      throw new ApplyError(`root mismatch: the changes give ${plan.root}, the master published ${head.root}`);
    await this.fetch();
    // Readers keep the current snapshot until the switch: the tree changes only once stored.
    this.#commit(plan, plan.effective);
    plan.commit();
    return snapshotOf(head.version, live);
  }

  #commit(t: { root: string; files: number; bytes: number }, changes: Change[]) {
    const version = this.head.version;
    try {
      this.#d.store.versions.commit({
        version,
        root: t.root,
        createdAt: Date.now(),
        files: t.files,
        bytes: t.bytes,
        changes,
      });
    } catch (err) {
      throw new ApplyError(`could not store version ${version}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The chunk lists of the contents the puts name that the store already holds, looked up in one go. */
function heldContents(changes: readonly WireChange[], store: Store): Map<string, PlacedChunk[]> {
  return store.read(() => {
    const held = new Map<string, PlacedChunk[]>();
    for (const c of changes) {
      if (c.op !== 'put' || held.has(c.hash)) continue;
      const list = store.versions.contentChunks(c.hash);
      if (list) held.set(c.hash, list);
    }
    return held;
  });
}

/** A put's chunk list: as listed, or its delta applied to the base content's list. */
async function chunkListOf(put: PutChange, d: ApplyDeps): Promise<ChunkRef[]> {
  const delta = put.delta;
  if (!delta) return put.chunks;
  const base = d.store.versions.contentChunks(delta.base)?.map(({ hash, size }) => ({ hash, size }));
  const list = base && chunkListDigest(base) === delta.baseDigest ? applyChunkListEdit(base, delta) : null;
  if (list) return list;
  // Not held, or held under another chunking: the whole list is one request away.
  if (!d.fetchChunkList) throw new ApplyError(`${put.path}: the base of its chunk-list delta is not held`);
  try {
    return await d.fetchChunkList(put.hash);
  } catch (err) {
    throw new ApplyError(`${put.path}: ${(err as Error).message}`);
  }
}

/** Inline content saves a round trip; it is checked like any fetched chunk before it is kept. */
function storeInline(entry: TreeEntry, base64: string, store: Store) {
  if (entry.chunks.length !== 1) return;
  const chunk = entry.chunks[0]!;
  if (store.chunks.has(chunk.hash)) return;
  const data = Buffer.from(base64, 'base64');
  // A bad inline copy is simply not kept; the chunk is then fetched like any other.
  keepIntact(store, [{ hash: chunk.hash, data }], () => chunk.size);
}

/**
 * New chunks told as edits of chunks this replica holds: each is made from its base and kept
 * only when it hashes to its address, as a fetched chunk is. One that cannot be made (its
 * base not held, a patch that does not fit it or makes other bytes) is fetched whole.
 */
function storePatched(entry: TreeEntry, patches: readonly ChunkPatchWire[], store: Store) {
  const sizes = new Map(entry.chunks.map((c) => [c.hash, c.size]));
  for (const p of patches) {
    // Only chunks of this file: a patch is no way to store anything else.
    if (sizes.get(p.hash) !== p.size || store.chunks.has(p.hash)) continue;
    const base = store.chunks.get(p.base);
    const data = base && applyChunkPatch(base, { ...p, data: Buffer.from(p.data, 'base64') });
    if (data) keepIntact(store, [{ hash: p.hash, data }], () => p.size);
  }
}

/** Chunks asked for in one batch request: at most this many bytes. */
const BATCH_BYTES = 8 * 1024 * 1024;

async function fetchMissing(puts: readonly TreeEntry[], d: ApplyDeps, progress: Progress, asked: string[]) {
  const sizes = new Map<string, number>();
  for (const put of puts) for (const c of put.chunks) sizes.set(c.hash, c.size);
  const missing = d.store.chunks.missing(sizes.keys());
  if (d.diskSpace) checkRoom(missing, sizes, d.diskSpace, d.store);
  for (const hash of missing) asked.push(hash);
  progress.add(puts, missing, sizes);
  let firstError: string | null = null;
  let gone = false;
  // A write the store refuses (a full disk, say) ends the fetch at once: fetching on, batch
  // after batch and then chunk by chunk, only downloaded again what could not be kept, the
  // whole rest of a first sync at every retry.
  let storeFailure: Error | undefined;
  /** Stores the chunks that hash to their address (only those ever enter the store); returns the others' hashes. */
  const keep = (chunks: FetchedChunk[]): string[] => {
    let kept: ReturnType<typeof keepIntact>;
    try {
      kept = keepIntact(d.store, chunks, (hash) => sizes.get(hash));
    } catch (err) {
      storeFailure ??= err as Error;
      throw err;
    }
    for (const c of kept.kept) progress.arrived(c.hash);
    return kept.refused;
  };

  // Batches first: many chunks per round trip. What a batch did not bring comes one by one.
  let retry = missing;
  const fetchBatch = d.fetchBatch;
  if (fetchBatch && missing.length > 0) {
    const batches = toBatches(missing, sizes);
    const failed: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches.length && !storeFailure) {
        const batch = batches[next++]!;
        try {
          const short = await fetchBatch(batch, keep);
          failed.push(...short.failed);
          // Not asked for again one by one: a version whose chunks the master no longer has
          // (collected, say) once cost a request per chunk, each answered 404, all in vain.
          // Most often the master's retention (--keep-versions) collected the version while this
          // replica fetched it, under a stream of edits: said, as it read like damage.
          if (short.absent.length > 0 && firstError === null) {
            gone = true;
            firstError = `the master has no chunk ${short.absent[0]}: it no longer keeps this version (collected while it was fetched, under --keep-versions: the latest follows) or its store lost the chunk`;
          }
        } catch (err) {
          if (storeFailure) return;
          d.log?.debug(
            { err: (err as Error).message, chunks: batch.length },
            'chunk batch failed; fetching one by one',
          );
          failed.push(...batch.map((w) => w.hash).filter((h) => !d.store.chunks.has(h)));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(d.batchConcurrency ?? 2, batches.length) }, worker));
    retry = failed;
  }
  if (storeFailure) throw storeRefused(storeFailure);

  let next = 0;
  // Every chunk that can be had is fetched and kept, even when another fails: a retry then
  // needs only what is still missing, so a bad link still makes progress.
  const worker = async () => {
    while (next < retry.length && !storeFailure) {
      const hash = retry[next++]!;
      const size = sizes.get(hash)!;
      try {
        if (keep([{ hash, data: await d.fetchChunk(hash, size) }]).length > 0)
          firstError ??= `chunk ${hash} failed verification`;
      } catch (err) {
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(d.concurrency ?? 4, retry.length) }, worker));
  if (storeFailure) throw storeRefused(storeFailure);
  if (firstError !== null) throw Object.assign(new ApplyError(firstError), { gone });
}

/**
 * Room on the volume that storing `bytes` of chunks takes besides the bytes themselves (`wal`):
 * the WAL they pass through first. Each page is written to the WAL and only then copied into
 * the database, and the WAL holds up to its cap ({@link WAL_CAP_BYTES}) before it starts over,
 * so a 20 MiB version needs about 40 MiB; the WAL file as it is already holds its part of that
 * (it is reused, never shrunk). Pages only the WAL holds yet (the last version, not yet
 * checkpointed) still need their room in the database, and a margin is kept for what a
 * failure needs afterwards (deleting what it stored). Counting content only, a 20 MiB version
 * was let onto an empty 30 MiB volume, and chunks fetched ahead filled one to the last byte.
 */
export function roomNeeded(bytes: number, space: NonNullable<ApplyDeps['diskSpace']>, store: Store) {
  if (bytes === 0) return { bytes, wal: 0 };
  const now = space.wal ? space.wal() : walRoom(store.db, store.path);
  return {
    bytes,
    wal: walOverheadBytes(bytes, now.walBytes, WAL_CAP_BYTES) + now.pendingBytes + now.spareBytes,
  };
}

/** Refuses a fetch whose chunks (and their WAL) need more than the store can grow by, less the space kept free. */
function checkRoom(
  missing: string[],
  sizes: Map<string, number>,
  space: NonNullable<ApplyDeps['diskSpace']>,
  store: Store,
) {
  let needed = 0;
  for (const hash of missing) needed += sizes.get(hash)!;
  if (needed === 0) return;
  const { wal } = roomNeeded(needed, space, store);
  const free = space.free();
  if (needed + wal + space.reserve <= free) return;
  const kept =
    space.reserve > 0 ? `, of which ${formatBytes(space.reserve)} is kept free (--min-free-space)` : '';
  const walPart = wal > 0 ? `, less ${formatBytes(wal)} for SQLite's WAL as they are written` : '';
  throw new ApplyError(
    `not enough disk space: the chunks to fetch need ${formatBytes(needed)}, and the store can grow by ${formatBytes(Math.max(0, free))}${kept}${walPart}`,
  );
}

function storeRefused(err: Error): ApplyError {
  return new ApplyError(`the store refused fetched chunks: ${err.message}`, { cause: err });
}

function toBatches(missing: string[], sizes: Map<string, number>): WantedChunk[][] {
  const batches: WantedChunk[][] = [];
  let batch: WantedChunk[] = [];
  let bytes = 0;
  for (const hash of missing) {
    const size = sizes.get(hash)!;
    if (batch.length > 0 && (batch.length >= LIMITS.maxBatchChunks || bytes + size > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ hash, size });
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * The new contents whose hash must be checked against their chunks: not those held already,
 * nor a one-chunk file whose chunk is stored (every stored chunk was verified against its
 * address, and the chunk is the file); one put per content.
 */
function toVerify(puts: readonly TreeEntry[], store: Store): TreeEntry[] {
  return store.read(() => {
    const seen = new Set<string>();
    const out: TreeEntry[] = [];
    for (const put of puts) {
      if (seen.has(put.hash)) continue;
      seen.add(put.hash);
      if (store.versions.contentChunks(put.hash)) continue;
      const only = put.chunks.length === 1 ? put.chunks[0]! : undefined;
      if (only && only.hash === put.hash && only.size === put.size && store.chunks.has(only.hash)) continue;
      out.push(put);
    }
    return out;
  });
}

/** Every new file must hash, chunk by chunk from the store, to the hash the master published. */
async function verifyContents(puts: readonly TreeEntry[], store: Store) {
  for (const put of toVerify(puts, store)) {
    const hash = createSha256();
    let size = 0;
    for (const [i, c] of put.chunks.entries()) {
      const data = store.chunks.get(c.hash);
      if (!data) throw new ApplyError(`chunk ${c.hash} of ${put.path} is missing`);
      hash.update(data);
      size += data.length;
      // Keep readers served while a large file is checked.
      if (i % 16 === 15) await yieldToLoop();
    }
    if (size !== put.size || hash.digest('hex') !== put.hash) {
      throw new ApplyError(`${put.path}: content does not match its published hash`);
    }
  }
}
