import type { ChunkRef } from '@outpost/core';
import { LIMITS } from '@outpost/protocol';
import type { ChunkSink } from './read-file.js';
import { withoutHeldChunks } from './without-held-chunks.js';

/**
 * Where an edited file's chunks go: those its current content already names nowhere (they
 * are stored); of the others, the first `patchable` to `store`, untold, since the manifest
 * may carry them to replicas as patches of the chunks they replace; the rest to `ahead`, told
 * to replicas before the version is cut. A manifest patches at most the first
 * LIMITS.maxPatchesPerPut chunks of a file's changed run (see patchPairs), and each new chunk
 * before those is one of them, so no chunk a patch could carry is told: a small edit costs
 * what it did, and a large file rewritten in place is fetched while it is still being read.
 */
export function editedFileSink(
  store: ChunkSink,
  ahead: ChunkSink,
  held: readonly ChunkRef[],
  patchable: number = LIMITS.maxPatchesPerPut,
): ChunkSink {
  let untold = 0;
  const split: ChunkSink = {
    put: (hash, data) => {
      if (untold < patchable) {
        untold++;
        store.put(hash, data);
      } else ahead.put(hash, data);
    },
    ...(store.room ? { room: () => store.room!() } : {}),
    get crowded() {
      return store.crowded;
    },
  };
  return held.length > 1 ? withoutHeldChunks(split, held) : split;
}
