import { type Change, EMPTY_ROOT } from '@outpost/core';
import { LIMITS, type Manifest, type WireChange } from '@outpost/protocol';
import type { Store } from '@outpost/store';

/**
 * The manifest that takes a replica holding (`from`, `fromRoot`) to the latest version: the
 * changes since `from` when the master still holds that exact version, else a full manifest.
 * Small files ride inline, up to a budget per manifest.
 */
export function buildManifest(store: Store, from: number, fromRoot: string | undefined): Manifest {
  const latest = store.versions.current();
  const held = from > 0 ? store.versions.get(from) : undefined;
  const sameHistory =
    (from === 0 && (fromRoot === undefined || fromRoot === EMPTY_ROOT)) ||
    (held !== undefined && (fromRoot === undefined || fromRoot === held.root));
  const full = !sameHistory || from > latest.version;
  const base = full ? 0 : from;
  const changes = base >= latest.version ? [] : store.versions.changesBetween(base, latest.version);
  return { version: latest.version, root: latest.root, from: base, full, changes: toWire(store, changes) };
}

function toWire(store: Store, changes: Change[]): WireChange[] {
  let budget: number = LIMITS.inlineBudgetBytes;
  return changes.map((change): WireChange => {
    if (change.op === 'delete') return { op: 'delete', path: change.path };
    const { path, size, hash, mtime, chunks } = change.entry;
    const wire: WireChange = { op: 'put', path, size, hash, mtime, chunks };
    if (size <= LIMITS.inlineFileBytes && size <= budget && chunks.length <= 1) {
      const data = chunks.length === 0 ? Buffer.alloc(0) : store.chunks.get(chunks[0]!.hash);
      if (data) {
        wire.data = data.toString('base64');
        budget -= size;
      }
    }
    return wire;
  });
}
