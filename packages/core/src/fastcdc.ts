import { createHash } from 'node:crypto';
import type { Chunker } from './chunker.js';

/** FastCDC sizes: chunks are at least min and at most max bytes, about avg on average. */
export interface CdcSizes {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CDC_SIZES: CdcSizes = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

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

/** A mask of the `bits` highest bits: those depend on the most bytes of the rolling window. */
function highBits(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * The cut point of the chunk starting at `start` (exclusive end, ≤ end): FastCDC with
 * normalised chunking (level 2): a stricter mask before the average size and a looser one
 * after it pull chunk sizes towards the average.
 */
export function findCut(
  data: Uint8Array,
  start: number,
  end: number,
  s: CdcSizes = DEFAULT_CDC_SIZES,
): number {
  const bits = Math.round(Math.log2(s.avg));
  const maskS = highBits(bits + 2);
  const maskL = highBits(bits - 2);
  const remaining = end - start;
  if (remaining <= s.min) return end;
  const limit = start + Math.min(remaining, s.max);
  const normal = start + Math.min(s.avg, remaining);
  let fp = 0;
  let i = start + s.min;
  for (; i < normal; i++) {
    fp = ((fp << 1) + GEAR[data[i]!]!) >>> 0;
    if ((fp & maskS) === 0) return i + 1;
  }
  for (; i < limit; i++) {
    fp = ((fp << 1) + GEAR[data[i]!]!) >>> 0;
    if ((fp & maskL) === 0) return i + 1;
  }
  return limit;
}

/** A content-defined chunker: an insertion or deletion moves only the boundaries near it. */
export function createFastCdcChunker(s: CdcSizes = DEFAULT_CDC_SIZES): Chunker {
  if (!(s.min > 0 && s.min <= s.avg && s.avg <= s.max)) throw new RangeError('need 0 < min <= avg <= max');
  let pending: Buffer = Buffer.alloc(0);

  const cutAll = (final: boolean): Buffer[] => {
    const out: Buffer[] = [];
    let start = 0;
    // Without the end of the stream, a chunk is only certain once max bytes are in hand.
    while (pending.length - start >= s.max || (final && pending.length > start)) {
      const cut = findCut(pending, start, pending.length, s);
      out.push(Buffer.from(pending.subarray(start, cut)));
      start = cut;
    }
    pending = pending.subarray(start);
    return out;
  };

  return {
    push(piece) {
      if (piece.length === 0) return [];
      pending = pending.length === 0 ? Buffer.from(piece) : Buffer.concat([pending, piece]);
      return cutAll(false);
    },
    finish() {
      const out = cutAll(true);
      pending = Buffer.alloc(0);
      return out;
    },
  };
}
