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
