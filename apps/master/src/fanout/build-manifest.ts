import {
  type Change,
  type ChunkRef,
  chunkListDigest,
  diffChunkLists,
  EMPTY_ROOT,
  makeChunkPatch,
  patchPairs,
  type TreeEntry,
} from '@outpost/core';
import { type ChunkPatchWire, LIMITS, type Manifest, type WireChange } from '@outpost/protocol';
import type { Store } from '@outpost/store';

/** A file with at least this many chunks may travel as a splice of its old chunk list. */
const DELTA_MIN_CHUNKS = 8;
/**
 * Chunk bytes read to try patches for one manifest, at most: a mass rewrite (every file of a
 * build output replaced) would otherwise read every old and new chunk it changed, on the
 * event loop, for patches that do not pay.
 */
const PATCH_READ_BYTES = 32 * 1024 * 1024;

/**
 * The manifest that takes a replica holding (`from`, `fromRoot`) to the latest version: the
 * changes since `from` when the master still holds that exact version, else a full manifest.
 * Small files ride inline, up to a budget per manifest; a large file changed in place names
 * only its changed chunks, as a splice of the chunk list the replica already holds.
 */
export function buildManifest(
  store: Store,
  from: number,
  fromRoot: string | undefined,
  to?: { version: number; root: string },
): Manifest {
  const target = to ?? store.versions.current();
  const held = from > 0 ? store.versions.get(from) : undefined;
  const sameHistory =
    (from === 0 && (fromRoot === undefined || fromRoot === EMPTY_ROOT)) ||
    (held !== undefined && (fromRoot === undefined || fromRoot === held.root));
  const full = !sameHistory || from > target.version;
  const base = full ? 0 : from;
  const changes = base >= target.version ? [] : store.versions.changesBetween(base, target.version);
  return {
    version: target.version,
    root: target.root,
    from: base,
    full,
    changes: toWire(store, changes, base),
  };
}

/**
 * A manifest cut into parts of at most `size` changes (protocol 2), each with the same head;
 * one that fits stays whole, without a `part`.
 */
export function cutIntoParts(m: Manifest, size: number = LIMITS.manifestPartChanges): Manifest[] {
  if (m.changes.length <= size) return [m];
  const count = Math.ceil(m.changes.length / size);
  const parts: Manifest[] = [];
  for (let index = 0; index < count; index++) {
    const changes = m.changes.slice(index * size, (index + 1) * size);
    parts.push({
      version: m.version,
      root: m.root,
      from: m.from,
      full: m.full,
      changes,
      part: { index, count },
    });
  }
  return parts;
}

function toWire(store: Store, changes: Change[], base: number): WireChange[] {
  let budget: number = LIMITS.inlineBudgetBytes;
  // Patches cost the master two chunk reads each: a manifest of many edits tries a bounded share.
  const patchBudget = { bytes: LIMITS.patchBudgetBytes, reads: PATCH_READ_BYTES };
  return changes.map((change): WireChange => {
    if (change.op === 'delete') return { op: 'delete', path: change.path };
    const { path, size, hash, mtime, chunks } = change.entry;
    const wire: WireChange = { op: 'put', path, size, hash, mtime, chunks };
    // A replica at `base` already holds what `base` holds (a renamed or copied file): no inline copy.
    const held = base > 0 && size > 0 && store.versions.contentIn(hash, base);
    // Content the replica holds needs no chunk: no patch either.
    const mayPatch = !held && patchBudget.bytes > 0 && patchBudget.reads > 0;
    const old =
      base > 0 && (mayPatch || chunks.length >= DELTA_MIN_CHUNKS)
        ? store.versions.entryAt(path, base)
        : undefined;
    const oldList = old && old.hash !== hash ? listOf(store, old.hash) : undefined;
    const patches = oldList && mayPatch ? patchesFor(store, oldList, chunks, patchBudget) : [];
    if (patches.length > 0) wire.patches = patches;
    // A small file whose one chunk travels as a patch needs no inline copy besides.
    const patchedWhole = patches.length > 0 && chunks.length === 1;
    if (size <= LIMITS.inlineFileBytes && size <= budget && chunks.length <= 1 && !held && !patchedWhole) {
      const data = chunks.length === 0 ? Buffer.alloc(0) : store.chunks.get(chunks[0]!.hash);
      if (data) {
        wire.data = data.toString('base64');
        budget -= size;
      }
    }
    if (old && oldList && chunks.length >= DELTA_MIN_CHUNKS) asDelta(wire, change.entry, old.hash, oldList);
    return wire;
  });
}

/** A content's chunk list as the store holds it. */
function listOf(store: Store, hash: string): ChunkRef[] | undefined {
  return store.versions.contentChunks(hash)?.map(({ hash, size }) => ({ hash, size }));
}

/**
 * The file's new chunks that are cheaper told as an edit of the old chunk they replace: a line
 * changed in a small file, a byte flipped in a large one. Stops at the manifest's budget.
 */
function patchesFor(
  store: Store,
  oldList: readonly ChunkRef[],
  list: readonly ChunkRef[],
  budget: { bytes: number; reads: number },
): ChunkPatchWire[] {
  const patches: ChunkPatchWire[] = [];
  for (const { chunk, base } of patchPairs(oldList, list, LIMITS.maxPatchesPerPut)) {
    if (budget.bytes <= 0 || budget.reads < chunk.size + base.size) break;
    budget.reads -= chunk.size + base.size;
    const target = store.chunks.get(chunk.hash);
    const from = target && store.chunks.get(base.hash);
    const patch = from && makeChunkPatch(from, target, Math.min(LIMITS.patchDataBytes, budget.bytes));
    if (!patch) continue;
    budget.bytes -= patch.data.length;
    patches.push({
      hash: chunk.hash,
      size: chunk.size,
      base: base.hash,
      head: patch.head,
      tail: patch.tail,
      data: patch.data.toString('base64'),
    });
  }
  return patches;
}

/** Turns the put's chunk list into a splice of the old one at the same path, when that is much smaller. */
function asDelta(wire: WireChange & { op: 'put' }, entry: TreeEntry, oldHash: string, oldList: ChunkRef[]) {
  const edit = diffChunkLists(oldList, entry.chunks);
  if (edit.insert.length * 2 > entry.chunks.length) return;
  wire.chunks = [];
  wire.delta = { base: oldHash, baseDigest: chunkListDigest(oldList), ...edit };
}
