import type { Chunker } from './chunker.js';
import { wasmCuts } from './fastcdc-wasm.js';
import { cutMasks, GEAR } from './gear-table.js';

export { GEAR } from './gear-table.js';

/** FastCDC sizes: chunks are at least min and at most max bytes, about avg on average. */
export interface CdcSizes {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CDC_SIZES: CdcSizes = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

/**
 * The gear table as signed 32-bit values: the rolling loop keeps the fingerprint a V8 small
 * integer (`| 0`), where `>>> 0` made every value above 2^31 a heap number and halved the speed.
 * The bits, and so the cuts, are the same.
 */
const GEAR_I32 = new Int32Array(GEAR.buffer, GEAR.byteOffset, GEAR.length);

/**
 * The cut point of the chunk starting at `start` (exclusive end, ≤ end): FastCDC with
 * normalised chunking (level 2): a stricter mask before the average size and a looser one
 * after it pull chunk sizes towards the average. The reference in JavaScript: `cutChunks`
 * runs the same loop as WebAssembly (fastcdc.wat), and tests hold the two to the same cuts.
 */
export function findCut(
  data: Uint8Array,
  start: number,
  end: number,
  s: CdcSizes = DEFAULT_CDC_SIZES,
): number {
  const { strict: maskS, loose: maskL } = cutMasks(s.avg);
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
  const { cuts, rest } = wasmCuts(data, final, s);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(data.subarray(start, cut));
    start = cut;
  }
  return { chunks, rest };
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
