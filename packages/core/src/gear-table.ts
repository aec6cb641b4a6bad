import { createHash } from 'node:crypto';

/**
 * The gear table: 256 fixed pseudo-random 32-bit values, derived from SHA-256 so every master
 * computes the same boundaries for the same bytes.
 */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++)
    table[i] = createHash('sha256').update(`outpost-gear-${i}`).digest().readUInt32BE(0);
  return table;
})();

/** A mask of the `bits` highest bits (as an int32): those depend on the most bytes of the rolling window. */
function highBits(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

/**
 * The masks a fingerprint is tested with for chunks of about `avg` bytes (normalised chunking,
 * level 2): the stricter before `avg` bytes, the looser after.
 */
export function cutMasks(avg: number): { strict: number; loose: number } {
  const bits = Math.round(Math.log2(avg));
  return { strict: highBits(bits + 2), loose: highBits(bits - 2) };
}
