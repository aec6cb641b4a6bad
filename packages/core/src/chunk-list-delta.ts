import { createHash } from 'node:crypto';
import type { ChunkRef } from './entry.js';

/** One splice that turns a file's old chunk list into its new one. */
export interface ChunkListEdit {
  /** Index in the old list where the edit starts. */
  at: number;
  /** Old chunks dropped from there. */
  remove: number;
  /** New chunks put in their place. */
  insert: ChunkRef[];
}

const same = (a: ChunkRef, b: ChunkRef) => a.hash === b.hash && a.size === b.size;

/**
 * The splice from `from` to `to`: what lies between their common head and common tail. An
 * edit inside a large file changes a few chunks (content-defined chunking keeps the rest),
 * so this is a few entries where the whole list may be thousands.
 */
export function diffChunkLists(from: readonly ChunkRef[], to: readonly ChunkRef[]): ChunkListEdit {
  let head = 0;
  const most = Math.min(from.length, to.length);
  while (head < most && same(from[head]!, to[head]!)) head++;
  let tail = 0;
  while (tail < most - head && same(from[from.length - 1 - tail]!, to[to.length - 1 - tail]!)) tail++;
  return { at: head, remove: from.length - head - tail, insert: to.slice(head, to.length - tail) };
}

/** Applies a splice; null when it does not fit the list. */
export function applyChunkListEdit(from: readonly ChunkRef[], edit: ChunkListEdit): ChunkRef[] | null {
  if (edit.at < 0 || edit.remove < 0 || edit.at + edit.remove > from.length) return null;
  return [...from.slice(0, edit.at), ...edit.insert, ...from.slice(edit.at + edit.remove)];
}

/** A digest of a chunk list, so both sides can tell they start from the same one. */
export function chunkListDigest(list: readonly ChunkRef[]): string {
  const h = createHash('sha256');
  for (const c of list) h.update(`${c.hash}:${c.size};`);
  return h.digest('hex');
}
