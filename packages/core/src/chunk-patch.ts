import type { ChunkRef } from './entry.js';

/**
 * A chunk told as an edit of another the receiver holds: the base's first `head` bytes, then
 * `data`, then the base's last `tail` bytes. One contiguous edit (a line changed in a small
 * file, a byte flipped in a large one) costs its own bytes on the wire, not the whole chunk.
 */
export interface ChunkPatch {
  head: number;
  tail: number;
  data: Buffer;
}

/**
 * The patch that turns `base` into `target`, or null when its data would be over `maxData`
 * bytes or over a quarter of the target (the chunk is then cheaper sent whole).
 */
export function makeChunkPatch(base: Uint8Array, target: Buffer, maxData: number): ChunkPatch | null {
  const most = Math.min(base.length, target.length);
  let head = 0;
  while (head < most && base[head] === target[head]) head++;
  let tail = 0;
  while (tail < most - head && base[base.length - 1 - tail] === target[target.length - 1 - tail]) tail++;
  const length = target.length - head - tail;
  if (length > maxData || length * 4 > target.length) return null;
  return { head, tail, data: target.subarray(head, head + length) };
}

/** The bytes a patch makes of `base`; null when it does not fit it. */
export function applyChunkPatch(base: Buffer, p: ChunkPatch): Buffer | null {
  if (p.head < 0 || p.tail < 0 || p.head + p.tail > base.length) return null;
  return Buffer.concat([base.subarray(0, p.head), p.data, base.subarray(base.length - p.tail)]);
}

/**
 * Which new chunk of a file to try as a patch of which old one: the chunks a splice puts in,
 * each with the old chunk it takes the place of (an edit inside a chunk replaces that chunk;
 * one that moves a boundary replaces it and its neighbour, one with the other).
 */
export function patchPairs(
  from: readonly ChunkRef[],
  to: readonly ChunkRef[],
  most: number,
): { chunk: ChunkRef; base: ChunkRef }[] {
  let head = 0;
  const shorter = Math.min(from.length, to.length);
  while (head < shorter && from[head]!.hash === to[head]!.hash) head++;
  let tail = 0;
  while (tail < shorter - head && from[from.length - 1 - tail]!.hash === to[to.length - 1 - tail]!.hash)
    tail++;
  const pairs: { chunk: ChunkRef; base: ChunkRef }[] = [];
  const n = Math.min(to.length - head - tail, from.length - head - tail, most);
  for (let i = 0; i < n; i++) pairs.push({ chunk: to[head + i]!, base: from[head + i]! });
  return pairs;
}
