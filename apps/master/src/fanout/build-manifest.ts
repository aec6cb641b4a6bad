import { type Change, chunkListDigest, diffChunkLists, EMPTY_ROOT, type TreeEntry } from '@outpost/core';
import { LIMITS, type Manifest, type WireChange } from '@outpost/protocol';
import type { Store } from '@outpost/store';

/** A file with at least this many chunks may travel as a splice of its old chunk list. */
const DELTA_MIN_CHUNKS = 8;

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
  return changes.map((change): WireChange => {
    if (change.op === 'delete') return { op: 'delete', path: change.path };
    const { path, size, hash, mtime, chunks } = change.entry;
    const wire: WireChange = { op: 'put', path, size, hash, mtime, chunks };
    // A replica at `base` already holds what `base` holds (a renamed or copied file): no inline copy.
    const held = base > 0 && size > 0 && store.versions.contentIn(hash, base);
    if (size <= LIMITS.inlineFileBytes && size <= budget && chunks.length <= 1 && !held) {
      const data = chunks.length === 0 ? Buffer.alloc(0) : store.chunks.get(chunks[0]!.hash);
      if (data) {
        wire.data = data.toString('base64');
        budget -= size;
      }
    }
    if (base > 0 && chunks.length >= DELTA_MIN_CHUNKS) asDelta(store, wire, change.entry, base);
    return wire;
  });
}

/** Turns the put's chunk list into a splice of the old one at the same path, when that is much smaller. */
function asDelta(store: Store, wire: WireChange & { op: 'put' }, entry: TreeEntry, base: number) {
  const old = store.versions.entryAt(entry.path, base);
  if (!old || old.hash === entry.hash) return;
  const oldList = store.versions.contentChunks(old.hash)?.map(({ hash, size }) => ({ hash, size }));
  if (!oldList) return;
  const edit = diffChunkLists(oldList, entry.chunks);
  if (edit.insert.length * 2 > entry.chunks.length) return;
  wire.chunks = [];
  wire.delta = { base: old.hash, baseDigest: chunkListDigest(oldList), ...edit };
}
