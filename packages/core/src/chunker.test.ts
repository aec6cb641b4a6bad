import { describe, expect, it } from 'vitest';
import { type Chunker, chunkBuffer, createFixedChunker, DEFAULT_CHUNK_SIZE } from './chunker.js';
import { sha256Hex } from './hash.js';

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(length: number, seed: number): Buffer {
  const next = rng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** Feeds `data` to a chunker in pieces of the given lengths (the last piece takes the rest). */
function feed(chunker: Chunker, data: Uint8Array, lengths: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const length of lengths) {
    out.push(...chunker.push(data.subarray(at, at + length)));
    at += length;
  }
  out.push(...chunker.push(data.subarray(at)));
  out.push(...chunker.finish());
  return out;
}

function randomSplits(total: number, seed: number, maxPiece: number): number[] {
  const next = rng(seed);
  const lengths: number[] = [];
  let left = total;
  while (left > 0) {
    // Zero-length pieces are part of the mix on purpose.
    const length = Math.min(left, Math.floor(next() * (maxPiece + 1)));
    lengths.push(length);
    left -= length;
  }
  return lengths;
}

describe('fixed chunker', () => {
  it('uses 64 KiB by default', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(65_536);
    const data = randomBytes(DEFAULT_CHUNK_SIZE * 2 + 10, 1);
    expect(chunkBuffer(data).map((c) => c.length)).toEqual([65_536, 65_536, 10]);
  });

  it('gives no chunks for empty input', () => {
    expect(chunkBuffer(new Uint8Array(0))).toEqual([]);
    expect(chunkBuffer(Buffer.alloc(0), 4)).toEqual([]);
    const chunker = createFixedChunker(4);
    expect(chunker.push(new Uint8Array(0))).toEqual([]);
    expect(chunker.finish()).toEqual([]);
  });

  it('cuts exactly at the size; only the last chunk may be short', () => {
    const chunks = chunkBuffer(Buffer.from('abcdefghij'), 4);
    expect(chunks.map((c) => c.toString())).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('makes no short chunk when the input is a multiple of the size', () => {
    const chunks = chunkBuffer(Buffer.from('abcdefgh'), 4);
    expect(chunks.map((c) => c.toString())).toEqual(['abcd', 'efgh']);
  });

  it('gives one short chunk for input smaller than the size', () => {
    const chunks = chunkBuffer(Buffer.from('abc'), 4);
    expect(chunks.map((c) => c.toString())).toEqual(['abc']);
  });

  it('gives one byte chunks with size 1', () => {
    expect(chunkBuffer(Buffer.from('xyz'), 1).map((c) => c.toString())).toEqual(['x', 'y', 'z']);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses chunk size %s', (size) => {
    expect(() => createFixedChunker(size)).toThrow(RangeError);
  });

  it('concatenates back to the input and every chunk but the last is exactly the size', () => {
    for (const [length, size] of [
      [1, 7],
      [7, 7],
      [8, 7],
      [1000, 7],
      [4096, 64],
      [5000, 1024],
      [100_003, 4096],
    ] as const) {
      const data = randomBytes(length, length * 31 + size);
      const chunks = chunkBuffer(data, size);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(chunks.length).toBe(Math.ceil(length / size));
      for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBe(size);
      const last = chunks.at(-1)!;
      expect(last.length).toBe(length % size === 0 ? size : length % size);
    }
  });

  it('gives identical chunks for identical input', () => {
    const a = chunkBuffer(randomBytes(10_000, 7), 512);
    const b = chunkBuffer(randomBytes(10_000, 7), 512);
    expect(a.map((c) => sha256Hex(c))).toEqual(b.map((c) => sha256Hex(c)));
    expect(a.length).toBe(20);
  });

  it('gives the same chunks whatever pieces the input arrives in', () => {
    const data = randomBytes(20_000, 42);
    const size = 1000;
    const whole = chunkBuffer(data, size).map((c) => sha256Hex(c));
    const splits: number[][] = [
      [],
      [1],
      [999, 1],
      [1000],
      [1001],
      [0, 0, 5000, 0],
      Array.from({ length: 20_000 }, () => 1),
      [3000, 3000, 3000],
      [19_999],
    ];
    for (let seed = 1; seed <= 20; seed++) splits.push(randomSplits(data.length, seed, 2500));
    for (const lengths of splits) {
      const chunks = feed(createFixedChunker(size), data, lengths);
      expect(chunks.map((c) => sha256Hex(c))).toEqual(whole);
    }
  });

  it('returns completed chunks from push as soon as they are whole', () => {
    const chunker = createFixedChunker(4);
    expect(chunker.push(Buffer.from('ab'))).toEqual([]);
    expect(chunker.push(Buffer.from('cdefghij')).map((c) => c.toString())).toEqual(['abcd', 'efgh']);
    expect(chunker.push(Buffer.from('k')).map((c) => c.toString())).toEqual([]);
    expect(chunker.finish().map((c) => c.toString())).toEqual(['ijk']);
  });

  it('can be used for another stream after finish', () => {
    const chunker = createFixedChunker(3);
    expect(feed(chunker, Buffer.from('abcdefg'), [2, 2]).map((c) => c.toString())).toEqual([
      'abc',
      'def',
      'g',
    ]);
    expect(feed(chunker, Buffer.from('xyzw'), [1]).map((c) => c.toString())).toEqual(['xyz', 'w']);
    expect(chunker.finish()).toEqual([]);
  });

  it('accepts Uint8Array views into a larger buffer', () => {
    const backing = new Uint8Array(Buffer.from('__abcdefg__'));
    const view = backing.subarray(2, 9);
    expect(chunkBuffer(view, 3).map((c) => c.toString())).toEqual(['abc', 'def', 'g']);
  });

  it('does not keep a reference to the pieces it is fed (a reused read buffer is safe)', () => {
    const data = randomBytes(10_000, 99);
    const size = 1024;
    const expected = chunkBuffer(data, size).map((c) => sha256Hex(c));
    // Read the stream the way fs.readSync does: into the same buffer, over and over.
    for (const readSize of [100, 1000, 1500, 4096]) {
      const chunker = createFixedChunker(size);
      const buffer = Buffer.alloc(readSize);
      const out: Buffer[] = [];
      for (let at = 0; at < data.length; at += readSize) {
        const n = data.copy(buffer, 0, at, at + readSize);
        out.push(...chunker.push(buffer.subarray(0, n)));
        buffer.fill(0xee);
      }
      out.push(...chunker.finish());
      expect(out.map((c) => sha256Hex(c))).toEqual(expected);
    }
  });

  it('returns chunks that later pushes do not change', () => {
    const chunker = createFixedChunker(4);
    const source = Buffer.from('abcdefgh');
    const first = chunker.push(source);
    source.fill(0x7a);
    chunker.push(Buffer.from('ijkl'));
    expect(first.map((c) => c.toString())).toEqual(['abcd', 'efgh']);
  });
});
