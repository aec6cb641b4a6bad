import { sha256Hex } from '@outpost/core';
import type { Store } from '@outpost/store';

/** A fetched chunk: the address it was asked for, and the bytes that came. */
export interface FetchedChunk {
  hash: string;
  data: Buffer;
}

/**
 * Stores, in one transaction, the fetched chunks whose bytes hash to their address and have
 * the size asked for (only those ever enter the store); the others are refused. Throws what
 * the store throws (a full disk, say), having stored none of them.
 */
export function keepIntact(
  store: Store,
  chunks: readonly FetchedChunk[],
  sizeOf: (hash: string) => number | undefined,
): { kept: FetchedChunk[]; refused: string[] } {
  const kept: FetchedChunk[] = [];
  const refused: string[] = [];
  for (const c of chunks) {
    if (c.data.length === sizeOf(c.hash) && sha256Hex(c.data) === c.hash) kept.push(c);
    else refused.push(c.hash);
  }
  store.chunks.putMany(kept);
  return { kept, refused };
}
