import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChunkBatchRequestSchema,
  ChunkFrameReader,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FrameError,
  FrameKind,
} from './chunk-frames.js';

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');

function stream(frames: { kind: FrameKind; body: string }[]): Buffer {
  return Buffer.concat(
    frames.flatMap(({ kind, body }) => [
      encodeFrameHeader(kind, hashOf(body), kind === FrameKind.missing ? 0 : body.length),
      kind === FrameKind.missing ? Buffer.alloc(0) : Buffer.from(body),
    ]),
  );
}

describe('ChunkFrameReader', () => {
  const frames = [
    { kind: FrameKind.raw, body: 'alpha' },
    { kind: FrameKind.missing, body: 'gone' },
    { kind: FrameKind.deflate, body: 'x'.repeat(300) },
    { kind: FrameKind.raw, body: '' },
  ];
  const bytes = stream(frames);

  it('reads back the same frames however the stream is cut', () => {
    for (let cut = 1; cut <= bytes.length; cut += 7) {
      const reader = new ChunkFrameReader();
      const got = [];
      for (let i = 0; i < bytes.length; i += cut) got.push(...reader.push(bytes.subarray(i, i + cut)));
      expect(got.map((f) => [f.kind, f.hash, f.payload.toString()])).toEqual(
        frames.map((f) => [f.kind, hashOf(f.body), f.kind === FrameKind.missing ? '' : f.body]),
      );
      expect(reader.buffered).toBe(0);
    }
  });

  it('reads frames of many sizes back from pieces cut at random, header bytes split included', () => {
    let x = 12345;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    const many = Array.from({ length: 60 }, (_, i) => ({
      kind: i % 9 === 4 ? FrameKind.missing : FrameKind.raw,
      body: String.fromCharCode(97 + (i % 26)).repeat(rand(3000)),
    }));
    const all = stream(many);
    for (let round = 0; round < 20; round++) {
      const reader = new ChunkFrameReader();
      const got = [];
      for (let i = 0; i < all.length; ) {
        const n = rand(round % 2 === 0 ? 50 : 5000);
        got.push(...reader.push(all.subarray(i, i + n)));
        i += n;
      }
      expect(got.map((f) => [f.kind, f.hash, f.payload.toString()])).toEqual(
        many.map((f) => [f.kind, hashOf(f.body), f.kind === FrameKind.missing ? '' : f.body]),
      );
      expect(reader.buffered).toBe(0);
    }
  });

  it('gives a frame inside one piece as a view of it, and one that spans pieces as a copy', () => {
    const body = 'y'.repeat(10_000);
    const one = stream([{ kind: FrameKind.raw, body }]);
    const [whole] = new ChunkFrameReader().push(one);
    const reader = new ChunkFrameReader();
    const first = Buffer.from(one.subarray(0, 5000));
    const second = Buffer.from(one.subarray(5000));
    expect(reader.push(first)).toEqual([]);
    const [spanning] = reader.push(second);
    // Written over after the read: a view shows it, a copy does not. (Which ArrayBuffer a
    // buffer lies in says nothing: Node 24 slices small buffers from a shared pool.)
    one.fill('z', FRAME_HEADER_BYTES);
    first.fill('z', FRAME_HEADER_BYTES);
    second.fill('z');
    expect(whole!.payload.toString()).toBe('z'.repeat(10_000));
    expect(spanning!.payload.toString()).toBe(body);
    expect(spanning!.payload.length).toBe(10_000);
  });

  it('holds a partial frame until the rest comes', () => {
    const reader = new ChunkFrameReader();
    expect(reader.push(bytes.subarray(0, FRAME_HEADER_BYTES + 2))).toEqual([]);
    expect(reader.buffered).toBe(FRAME_HEADER_BYTES + 2);
  });

  it('refuses an unknown kind, a payload over the limit, and a missing frame with a payload', () => {
    const bad = encodeFrameHeader(FrameKind.raw, hashOf('a'), 1);
    bad[0] = 9;
    expect(() => new ChunkFrameReader().push(bad)).toThrow(FrameError);
    const big = encodeFrameHeader(FrameKind.raw, hashOf('a'), 0xffffffff);
    expect(() => new ChunkFrameReader(1024).push(big)).toThrow(/over the limit/);
    const missing = encodeFrameHeader(FrameKind.missing, hashOf('a'), 3);
    expect(() => new ChunkFrameReader().push(missing)).toThrow(/missing frame/);
  });
});

describe('ChunkBatchRequestSchema', () => {
  it('takes 1 to 512 lowercase SHA-256 addresses', () => {
    expect(ChunkBatchRequestSchema.parse({ hashes: [hashOf('a')] })).toEqual({
      hashes: [hashOf('a')],
      compress: false,
    });
    expect(ChunkBatchRequestSchema.safeParse({ hashes: [] }).success).toBe(false);
    expect(ChunkBatchRequestSchema.safeParse({ hashes: Array(513).fill(hashOf('a')) }).success).toBe(false);
    expect(ChunkBatchRequestSchema.safeParse({ hashes: [hashOf('a').toUpperCase()] }).success).toBe(false);
  });

  it('takes a replica name and the rate it asks to be sent at', () => {
    const hashes = [hashOf('a')];
    expect(ChunkBatchRequestSchema.parse({ hashes, maxRate: 1_048_576, name: 'uk-london' })).toEqual({
      hashes,
      compress: false,
      maxRate: 1_048_576,
      name: 'uk-london',
    });
    for (const maxRate of [0, -1, 8191, 8192.5, 2e12, '1m'])
      expect(ChunkBatchRequestSchema.safeParse({ hashes, maxRate }).success, String(maxRate)).toBe(false);
    for (const name of ['UK', '-a', 'a/b', ''])
      expect(ChunkBatchRequestSchema.safeParse({ hashes, name }).success, name).toBe(false);
  });
});
