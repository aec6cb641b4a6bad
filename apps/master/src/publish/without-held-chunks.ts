import type { ChunkRef } from '@outpost/core';
import type { ChunkSink } from './read-file.js';

/**
 * A sink that passes on only the chunks a file's current content does not already name: those
 * are in the store (the live version holds them), and handing them to it again cost a 100 MiB
 * file's one-byte edit a copy of all 100 MiB to the writer and a store lookup per chunk.
 */
export function withoutHeldChunks(sink: ChunkSink, held: readonly ChunkRef[]): ChunkSink {
  const known = new Set(held.map((c) => c.hash));
  return {
    put: (hash, data) => {
      if (!known.has(hash)) sink.put(hash, data);
    },
    ...(sink.room ? { room: () => sink.room!() } : {}),
    get crowded() {
      return sink.crowded;
    },
  };
}
