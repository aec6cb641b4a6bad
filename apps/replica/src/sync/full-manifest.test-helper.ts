import { merkleRoot, type TreeEntry } from '@outpost/core';
import type { Manifest } from '@outpost/protocol';

/** Version `version` of exactly `entries`, as a full manifest. */
export function fullManifest(version: number, entries: TreeEntry[]): Manifest {
  return {
    version,
    root: merkleRoot(entries),
    from: 0,
    full: true,
    changes: entries.map(({ path, size, hash, mtime, chunks }) => ({
      op: 'put',
      path,
      size,
      hash,
      mtime,
      chunks,
    })),
  };
}
