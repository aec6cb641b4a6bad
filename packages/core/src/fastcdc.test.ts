import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import {
  type CdcSizes,
  createFastCdcChunker,
  cutChunks,
  DEFAULT_CDC_SIZES,
  fastCdcChunks,
  findCut,
} from './fastcdc.js';
import { wasmCuts } from './fastcdc-wasm.js';
import { FASTCDC_WASM_BASE64 } from './fastcdc-wasm-bytes.js';
import { sha256Hex } from './hash.js';

/** Deterministic pseudo-random bytes. */
function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function chunkAll(data: Buffer, pieceSize = data.length): Buffer[] {
  const c = createFastCdcChunker();
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceSize) out.push(...c.push(data.subarray(i, i + pieceSize)));
  out.push(...c.finish());
  return out;
}

const { min, avg, max } = DEFAULT_CDC_SIZES;

describe('FastCDC', () => {
  const data = bytes(8 * 1024 * 1024, 42);
  const chunks = chunkAll(data);

  it('covers the input exactly, within the size limits', () => {
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(min);
      expect(c.length).toBeLessThanOrEqual(max);
    }
    expect(chunks.at(-1)!.length).toBeLessThanOrEqual(max);
  });

  it('averages near the target size (normalised chunking)', () => {
    const mean = data.length / chunks.length;
    expect(mean).toBeGreaterThan(avg * 0.75);
    expect(mean).toBeLessThan(avg * 1.5);
  });

  it('gives identical chunks for identical input, however it is fed', () => {
    const again = chunkAll(data, 1000 + 7);
    expect(again.map((c) => sha256Hex(c))).toEqual(chunks.map((c) => sha256Hex(c)));
    expect(chunkAll(data, 300 * 1024).length).toBe(chunks.length);
  });

  it('moves only the boundaries near an insertion', () => {
    const at = 3 * 1024 * 1024 + 123;
    const edited = Buffer.concat([
      data.subarray(0, at),
      Buffer.from('an inserted sentence.'),
      data.subarray(at),
    ]);
    const after = chunkAll(edited);
    const before = new Set(chunks.map((c) => sha256Hex(c)));
    const changed = after.filter((c) => !before.has(sha256Hex(c)));
    // One or two chunks around the edit differ; everything before and after is shared.
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
    expect(after.length - changed.length).toBeGreaterThan(chunks.length - 4);
  });

  it('moves only the boundaries near a deletion', () => {
    const at = 5 * 1024 * 1024;
    const edited = Buffer.concat([data.subarray(0, at), data.subarray(at + 1000)]);
    const before = new Set(chunks.map((c) => sha256Hex(c)));
    const changed = chunkAll(edited).filter((c) => !before.has(sha256Hex(c)));
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('keeps a file under the minimum as one chunk, and an empty one as none', () => {
    expect(chunkAll(bytes(min, 1))).toHaveLength(1);
    expect(chunkAll(bytes(100, 1))).toHaveLength(1);
    expect(chunkAll(Buffer.alloc(0))).toHaveLength(0);
  });

  it('cuts a run of identical bytes at the maximum', () => {
    const zeros = Buffer.alloc(1024 * 1024);
    const parts = chunkAll(zeros);
    for (const p of parts.slice(0, -1)) expect(p.length).toBeLessThanOrEqual(max);
    expect(Buffer.concat(parts).equals(zeros)).toBe(true);
  });

  it('never cuts before min or after max', () => {
    const b = randomBytes(2 * max);
    const cut = findCut(b, 0, b.length);
    expect(cut).toBeGreaterThanOrEqual(min);
    expect(cut).toBeLessThanOrEqual(max);
    expect(findCut(b, 10, 10 + min)).toBe(10 + min);
  });

  it('cuts where earlier releases cut (stored chunks keep deduplicating)', () => {
    // Pinned from the release before the int32 rolling loop: a change of arithmetic must not
    // move a single boundary, or every stored file would be chunked afresh.
    const cuts: number[] = [];
    let end = 0;
    for (const c of fastCdcChunks(bytes(2 * 1024 * 1024, 7))) {
      end += c.length;
      cuts.push(end);
    }
    expect(cuts).toEqual([
      66414, 140413, 189639, 268499, 340852, 418185, 473640, 550943, 646174, 714240, 741225, 848149, 914656,
      986164, 1053689, 1148855, 1210506, 1297891, 1370747, 1440949, 1485982, 1570983, 1639933, 1716654,
      1794962, 1876145, 1965646, 2034679, 2087411, 2097152,
    ]);
  });

  it('refuses nonsense sizes', () => {
    expect(() => createFastCdcChunker({ min: 10, avg: 5, max: 20 })).toThrow(RangeError);
    expect(() => cutChunks(data, true, { min: 10, avg: 5, max: 20 })).toThrow(RangeError);
  });

  it('cuts a whole buffer where the streaming chunker does, into views of it', () => {
    const views = fastCdcChunks(data);
    expect(views.map((c) => sha256Hex(c))).toEqual(chunks.map((c) => sha256Hex(c)));
    // Views share the input's memory: no copy of the bytes was made.
    expect(views.every((v) => v.buffer === data.buffer)).toBe(true);
    expect(fastCdcChunks(Buffer.alloc(0))).toEqual([]);
  });

  it('without the end of the stream, cuts only what later bytes cannot move', () => {
    const head = data.subarray(0, 3 * max + 5);
    const { chunks: sure, rest } = cutChunks(head, false);
    // Fewer than max bytes are left uncut, and every cut made is one the whole stream has.
    expect(head.length - rest).toBeLessThan(max);
    expect(sure.reduce((n, c) => n + c.length, 0)).toBe(rest);
    expect(sure.map((c) => sha256Hex(c))).toEqual(chunks.slice(0, sure.length).map((c) => sha256Hex(c)));
    // Fed piece by piece with the rest carried over, it gives the whole stream's chunks.
    const out: Buffer[] = [];
    let tail = Buffer.alloc(0);
    for (let at = 0; ; at += 700 * 1024) {
      const piece = data.subarray(at, at + 700 * 1024);
      const buf = Buffer.concat([tail, piece]);
      const cut = cutChunks(buf, piece.length === 0);
      out.push(...cut.chunks);
      tail = buf.subarray(cut.rest);
      if (piece.length === 0) break;
    }
    expect(out.map((c) => sha256Hex(c))).toEqual(chunks.map((c) => sha256Hex(c)));
  });
});

/** The cuts by the JavaScript reference, as cutChunks made them before the WebAssembly kernel. */
function referenceCuts(data: Uint8Array, final: boolean, s: CdcSizes): { cuts: number[]; rest: number } {
  const cuts: number[] = [];
  let start = 0;
  while (data.length - start >= s.max || (final && data.length > start)) {
    start = findCut(data, start, data.length, s);
    cuts.push(start);
  }
  return { cuts, rest: start };
}

describe('the WebAssembly FastCDC kernel', () => {
  it('is fastcdc.wat as wabt compiles it (run `pnpm gen:fastcdc-wasm` after editing the .wat)', async () => {
    const wabt = await wabtInit();
    const source = readFileSync(new URL('./fastcdc.wat', import.meta.url), 'utf8');
    const compiled = wabt.parseWat('fastcdc.wat', source).toBinary({}).buffer;
    expect(Buffer.from(compiled).toString('base64')).toBe(FASTCDC_WASM_BASE64);
  });

  it.each([
    0,
    1,
    min - 1,
    min,
    min + 1,
    max - 1,
    max,
    max + 1,
    3 * 1024 * 1024 + 17,
    // Past the 2 MiB window, several times over: cuts near each window's end.
    7 * 1024 * 1024 + 5,
  ])('cuts %i random bytes where the JavaScript reference does, at the end of a stream or not', (size) => {
    const data = bytes(size, size + 1);
    for (const final of [true, false])
      expect(wasmCuts(data, final, DEFAULT_CDC_SIZES)).toEqual(referenceCuts(data, final, DEFAULT_CDC_SIZES));
  });

  it('cuts runs of one byte and text as the reference does', () => {
    const zeros = Buffer.alloc(5 * 1024 * 1024);
    expect(wasmCuts(zeros, true, DEFAULT_CDC_SIZES)).toEqual(referenceCuts(zeros, true, DEFAULT_CDC_SIZES));
    const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(100_000));
    expect(wasmCuts(text, true, DEFAULT_CDC_SIZES)).toEqual(referenceCuts(text, true, DEFAULT_CDC_SIZES));
  });

  it('cuts as the reference does for any sizes, small or larger than its window', () => {
    const large = { min: 512 * 1024, avg: 2 << 20, max: 3 << 20 };
    const data = bytes(9 * 1024 * 1024, 3);
    expect(wasmCuts(data, true, large)).toEqual(referenceCuts(data, true, large));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer(),
        fc.boolean(),
        (minimum, avgShift, maxShift, size, seed, final) => {
          const s = { min: minimum, avg: minimum << avgShift, max: (minimum << avgShift) << maxShift };
          const data = bytes(size, seed);
          expect(wasmCuts(data, final, s)).toEqual(referenceCuts(data, final, s));
        },
      ),
      { numRuns: 60 },
    );
  });
});
