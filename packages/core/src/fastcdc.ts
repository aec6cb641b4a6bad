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

/**
 * The same table as signed 32-bit values: the rolling loop keeps the fingerprint a V8 small
 * integer (`| 0`), where `>>> 0` made every value above 2^31 a heap number and halved the speed.
 * The bits, and so the cuts, are the same.
 */
const GEAR_I32 = new Int32Array(GEAR.buffer, GEAR.byteOffset, GEAR.length);

/** A mask of the `bits` highest bits (as an int32): those depend on the most bytes of the rolling window. */
function highBits(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
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
  const gear = GEAR_I32;
  let fp = 0;
  let i = start + s.min;
  for (; i < normal; i++) {
    fp = ((fp << 1) + gear[data[i]!]!) | 0;
    if ((fp & maskS) === 0) return i + 1;
  }
  for (; i < limit; i++) {
    fp = ((fp << 1) + gear[data[i]!]!) | 0;
    if ((fp & maskL) === 0) return i + 1;
  }
  return limit;
}

function checkSizes(s: CdcSizes) {
  if (!(s.min > 0 && s.min <= s.avg && s.avg <= s.max)) throw new RangeError('need 0 < min <= avg <= max');
}

/**
 * The chunks of `data` that are certain, as views of it (no copies): all of it when `final`
 * (the end of the stream), else only those no later bytes could move, since a cut is certain
 * once max bytes are in hand. `rest` is where the uncertain remainder begins.
 */
export function cutChunks(
  data: Buffer,
  final: boolean,
  s: CdcSizes = DEFAULT_CDC_SIZES,
): { chunks: Buffer[]; rest: number } {
  checkSizes(s);
  const chunks: Buffer[] = [];
  let start = 0;
  while (data.length - start >= s.max || (final && data.length > start)) {
    const cut = findCut(data, start, data.length, s);
    chunks.push(data.subarray(start, cut));
    start = cut;
  }
  return { chunks, rest: start };
}

/** A whole buffer's chunks, as views of it: the same cuts as the streaming chunker, fed it all. */
export function fastCdcChunks(data: Buffer, s: CdcSizes = DEFAULT_CDC_SIZES): Buffer[] {
  return cutChunks(data, true, s).chunks;
}

/** A content-defined chunker: an insertion or deletion moves only the boundaries near it. */
export function createFastCdcChunker(s: CdcSizes = DEFAULT_CDC_SIZES): Chunker {
  checkSizes(s);
  let pending: Buffer = Buffer.alloc(0);

  const cutAll = (final: boolean): Buffer[] => {
    const { chunks, rest } = cutChunks(pending, final, s);
    // Copies: the chunks outlive the pending buffer, which the next push replaces.
    const out = chunks.map((c) => Buffer.from(c));
    pending = pending.subarray(rest);
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
