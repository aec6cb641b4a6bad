import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { ChunkFrameReader, FrameKind } from '@outpost/protocol';
import { openStore, type Store } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { byteEntropy, chunkBatchFrames } from './chunk-batch.js';
import { PackedChunks } from './packed-chunks.js';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-batch-'));
  store = openStore(join(dir, 'master.sqlite'));
});
afterEach(() => {
  vi.restoreAllMocks();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
function stored(data: Buffer): string {
  store.chunks.put(sha(data), data);
  return sha(data);
}

async function frames(hashes: string[], compress: boolean) {
  const reader = new ChunkFrameReader();
  const out = [];
  for await (const piece of chunkBatchFrames(store.chunks, hashes, compress)) out.push(...reader.push(piece));
  expect(reader.buffered).toBe(0);
  return out;
}

describe('chunkBatchFrames', () => {
  it('answers every asked hash in order: text deflated, noise raw, unknown ones missing', async () => {
    const text = Buffer.from('the same line of text, again and again\n'.repeat(2000));
    const noise = randomBytes(64 * 1024);
    const small = Buffer.from('tiny');
    const hashes = [stored(text), sha(Buffer.from('never stored')), stored(noise), stored(small)];
    for (let i = 0; i < 20; i++) hashes.push(stored(Buffer.from(`${i} `.repeat(1000))));
    const got = await frames(hashes, true);
    expect(got.map((f) => f.hash)).toEqual(hashes);
    expect(got.map((f) => f.kind).slice(0, 4)).toEqual([
      FrameKind.deflate,
      FrameKind.missing,
      FrameKind.raw,
      FrameKind.raw,
    ]);
    expect(got[0]!.payload.length).toBeLessThan(text.length / 10);
    expect(inflateRawSync(got[0]!.payload).equals(text)).toBe(true);
    expect(got[2]!.payload.equals(noise)).toBe(true);
  });

  it('asks `mend` for a chunk not stored or on a damaged page before it calls it missing', async () => {
    const lost = Buffer.from('a row the store lost, still in its file');
    const unreadable = Buffer.from('a row on a damaged page');
    const held = stored(Buffer.from('held'));
    stored(unreadable);
    const get = store.chunks.get.bind(store.chunks);
    vi.spyOn(store.chunks, 'get').mockImplementation((hash) => {
      if (hash === sha(unreadable))
        throw Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
      return get(hash);
    });
    const asked: string[] = [];
    const mend = async (hash: string) => {
      asked.push(hash);
      return hash === sha(lost) ? lost : hash === sha(unreadable) ? unreadable : null;
    };
    const hashes = [held, sha(lost), sha(unreadable), sha(Buffer.from('nowhere'))];
    const reader = new ChunkFrameReader();
    const got = [];
    for await (const piece of chunkBatchFrames(store.chunks, hashes, false, undefined, mend))
      got.push(...reader.push(piece));
    expect(asked).toEqual(hashes.slice(1));
    expect(got.map((f) => f.kind)).toEqual([FrameKind.raw, FrameKind.raw, FrameKind.raw, FrameKind.missing]);
    expect(got[1]!.payload.equals(lost)).toBe(true);
    expect(got[2]!.payload.equals(unreadable)).toBe(true);
  });

  it('sends small frames together, and a large payload as it is', async () => {
    const small = Array.from({ length: 200 }, (_, i) => stored(randomBytes(700 + i)));
    const big = randomBytes(100_000);
    const hashes = [...small.slice(0, 100), stored(big), ...small.slice(100)];
    const pieces: Buffer[] = [];
    for await (const piece of chunkBatchFrames(store.chunks, hashes, true)) pieces.push(piece);
    // 201 frames (402 pieces) in a handful of writes; the large payload is the stored buffer's bytes.
    expect(pieces.length).toBeLessThan(12);
    expect(pieces.some((p) => p.equals(big))).toBe(true);
    const reader = new ChunkFrameReader();
    const got = pieces.flatMap((p) => reader.push(p));
    expect(got.map((f) => f.hash)).toEqual(hashes);
    expect(got[100]!.payload.equals(big)).toBe(true);
  });

  it('gives the event loop turns while it prepares a large batch', async () => {
    // Text that deflates, unlike any other chunk: each costs real work to prepare.
    const words = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima'.split(' ');
    const hashes = Array.from({ length: 300 }, (_, i) => {
      let text = '';
      for (let w = 0; text.length < 64 * 1024; w++) text += `${words[(w * 7 + i) % words.length]}${w % 13} `;
      return stored(Buffer.from(text));
    });
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 1);
    const start = performance.now();
    // Read as fast as it comes, as a stream with room does: without a turn now and then, no
    // timer (and no other request) would run until the whole batch was out.
    const got = await frames(hashes, true);
    const end = performance.now();
    clearInterval(timer);
    expect(got.every((f) => f.kind === FrameKind.deflate)).toBe(true);
    // A turn every 20 ms or so (without: never).
    const during = ticks.filter((t) => t > start && t < end);
    expect(during.length).toBeGreaterThanOrEqual(Math.min(3, Math.floor((end - start) / 40)));
  });

  it('deflates a chunk once for the replicas that ask for it, and sends the same bytes', async () => {
    const text = Buffer.from('a line that several replicas ask for\n'.repeat(2000));
    const noise = randomBytes(64 * 1024);
    const hashes = [stored(text), stored(noise), sha(Buffer.from('never stored'))];
    const kept = new PackedChunks();
    const read = async () => {
      const reader = new ChunkFrameReader();
      const out = [];
      for await (const piece of chunkBatchFrames(store.chunks, hashes, true, kept))
        out.push(...reader.push(piece));
      return out;
    };
    const first = await read();
    const second = await read();
    expect(kept.hits).toBe(0);
    // The third replica's batch is answered from what the second one's kept (text and noise).
    const third = await read();
    expect(kept.hits).toBe(2);
    for (const got of [second, third]) {
      expect(got.map((f) => [f.kind, f.hash])).toEqual(first.map((f) => [f.kind, f.hash]));
      expect(got.map((f) => f.payload.toString('hex'))).toEqual(first.map((f) => f.payload.toString('hex')));
    }
    expect(first.map((f) => f.kind)).toEqual([FrameKind.deflate, FrameKind.raw, FrameKind.missing]);
    // A replica that asks for raw frames gets raw frames, whatever is kept.
    const reader = new ChunkFrameReader();
    const raw = [];
    for await (const piece of chunkBatchFrames(store.chunks, hashes.slice(0, 1), false, kept))
      raw.push(...reader.push(piece));
    expect(raw[0]).toMatchObject({ kind: FrameKind.raw });
    expect(raw[0]!.payload.equals(text)).toBe(true);
  });

  it('sends everything raw when compression is not asked for', async () => {
    const text = Buffer.from('x'.repeat(10_000));
    const got = await frames([stored(text)], false);
    expect(got[0]).toMatchObject({ kind: FrameKind.raw });
    expect(got[0]!.payload.equals(text)).toBe(true);
  });
});

describe('byteEntropy', () => {
  it('is 8 bits for evenly spread bytes, 0 for one value, about 4–5 for text', () => {
    expect(byteEntropy(Buffer.alloc(0))).toBe(0);
    expect(byteEntropy(Buffer.alloc(4096, 7))).toBe(0);
    expect(byteEntropy(Buffer.from([1, 2, 1, 2]))).toBe(1);
    expect(byteEntropy(Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)))).toBe(8);
    // Random bytes fall just short of 8 over a 4 KiB sample (uneven counts), well above the 7.9 cut.
    expect(byteEntropy(randomBytes(4096))).toBeGreaterThan(7.92);
    const text = Buffer.from('the same line of text, with some words and numbers 12345\n'.repeat(80));
    expect(byteEntropy(text.subarray(0, 4096))).toBeLessThan(5);
  });
});
