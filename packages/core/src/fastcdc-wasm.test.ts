import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { type CdcSizes, DEFAULT_CDC_SIZES, findCut } from './fastcdc.js';
import { wasmCuts } from './fastcdc-wasm.js';
import { FASTCDC_WASM_BASE64 } from './fastcdc-wasm-bytes.js';

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

/** Deterministic pseudo-random bytes (xorshift). */
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

describe('the WebAssembly FastCDC kernel', () => {
  it('is fastcdc.wat as wabt compiles it (run `pnpm gen:fastcdc-wasm` after editing the .wat)', async () => {
    const wabt = await wabtInit();
    const source = readFileSync(new URL('./fastcdc.wat', import.meta.url), 'utf8');
    const compiled = wabt.parseWat('fastcdc.wat', source).toBinary({}).buffer;
    expect(Buffer.from(compiled).toString('base64')).toBe(FASTCDC_WASM_BASE64);
  });

  const { min, max } = DEFAULT_CDC_SIZES;
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
