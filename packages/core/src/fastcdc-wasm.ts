import { FASTCDC_WASM_BASE64 } from './fastcdc-wasm-bytes.js';
import { cutMasks, GEAR } from './gear-table.js';

/** Where the bytes to cut start in the module's memory: the gear table comes first. */
const DATA_AT = 1024;
/** Bytes copied into the module's memory at a time: a cut needs at most `max` bytes ahead. */
const WINDOW_BYTES = 2 * 1024 * 1024;
const PAGE = 65_536;

/** What is used of the WebAssembly API (its types come with the DOM's lib, which Node code does not load). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

interface Kernel {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  findCut: (
    start: number,
    end: number,
    min: number,
    avg: number,
    max: number,
    maskS: number,
    maskL: number,
  ) => number;
}

let kernel: Kernel | undefined;

/** The module, compiled and given its gear table on first use (a few hundred bytes: synchronously). */
function load(): Kernel {
  const module = new wasm.Module(Buffer.from(FASTCDC_WASM_BASE64, 'base64'));
  const k = new wasm.Instance(module).exports as Kernel;
  const table = new DataView(k.memory.buffer, 0, DATA_AT);
  for (let i = 0; i < 256; i++) table.setUint32(i * 4, GEAR[i]!, true);
  return k;
}

/** Grows the module's memory to hold `bytes` of data after the table. */
function reserve(k: Kernel, bytes: number): void {
  const need = Math.ceil((DATA_AT + bytes) / PAGE) - k.memory.buffer.byteLength / PAGE;
  if (need > 0) k.memory.grow(need);
}

/**
 * The cut points in `data`, as `cutChunks` defines them, found by the WebAssembly kernel: the
 * bytes are copied into its memory a window at a time, each window long enough to settle
 * every cut made in it.
 */
export function wasmCuts(
  data: Uint8Array,
  final: boolean,
  s: { min: number; avg: number; max: number },
): { cuts: number[]; rest: number } {
  const len = data.length;
  // A whole file under the minimum is one chunk (most files of a tree): nothing to copy or scan.
  if (final && len > 0 && len <= s.min) return { cuts: [len], rest: len };
  kernel ??= load();
  const k = kernel;
  const window = Math.max(WINDOW_BYTES, s.max);
  reserve(k, window);
  const { strict, loose } = cutMasks(s.avg);
  const cuts: number[] = [];
  let start = 0;
  while (len - start >= s.max || (final && len > start)) {
    const windowEnd = Math.min(len, start + window);
    new Uint8Array(k.memory.buffer, DATA_AT, windowEnd - start).set(data.subarray(start, windowEnd));
    const base = DATA_AT - start;
    // A cut is the one the whole of `data` gives when max bytes follow its start in the
    // window, or when the window reaches the end of `data`.
    while (
      (len - start >= s.max || (final && len > start)) &&
      (windowEnd - start >= s.max || windowEnd === len)
    ) {
      start = k.findCut(start + base, windowEnd + base, s.min, s.avg, s.max, strict, loose) - base;
      cuts.push(start);
    }
  }
  return { cuts, rest: start };
}
