import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { encodeFrameHeader, FrameKind } from '@outpost/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChunkFetchError, fetchChunkBatch, fetchChunkList, fetchVerifiedChunk } from './chunk-fetcher.js';
import { replicaUserAgent } from './master-headers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Deterministic incompressible bytes. */
function noise(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A master stand-in that answers every batch with these frames, written in small pieces. */
async function masterSending(frames: Buffer[]): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'application/vnd.outpost.chunks' });
      const body = Buffer.concat(frames);
      for (let at = 0; at < body.length; at += 50_000) {
        res.write(body.subarray(at, at + 50_000));
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const raw = (data: Buffer, hash = sha(data)) => [encodeFrameHeader(FrameKind.raw, hash, data.length), data];

describe('fetchChunkBatch', () => {
  it('keeps verified chunks in a few large groups, and names the ones that did not come intact', async () => {
    const chunks = Array.from({ length: 150 }, (_, i) => noise(64 * 1024, i + 1));
    const text = Buffer.from('compressible line\n'.repeat(3000));
    const bad = noise(1000, 999);
    const frames = chunks.flatMap((c) => raw(c));
    const packed = deflateRawSync(text);
    frames.push(encodeFrameHeader(FrameKind.deflate, sha(text), packed.length), packed);
    // A frame whose bytes do not hash to its address, and one the master did not have.
    frames.push(...raw(noise(1000, 1000), sha(bad)));
    frames.push(encodeFrameHeader(FrameKind.missing, sha(Buffer.from('gone')), 0));
    const wanted = [
      ...chunks.map((c) => ({ hash: sha(c), size: c.length })),
      { hash: sha(text), size: text.length },
      { hash: sha(bad), size: bad.length },
      { hash: sha(Buffer.from('gone')), size: 4 },
    ];
    const groups: { hash: string; data: Buffer }[][] = [];
    // `keep` verifies (as the replica's does) and names what it refused: those count as failed.
    const short = await fetchChunkBatch(
      wanted,
      { master: await masterSending(frames), token: undefined, compress: true },
      (g) => {
        groups.push(g.filter((c) => sha(c.data) === c.hash));
        return g.filter((c) => sha(c.data) !== c.hash).map((c) => c.hash);
      },
    );
    // Damaged: worth asking for again. Missing at the master: asking again gets nothing.
    expect(short).toEqual({ failed: [sha(bad)], absent: [sha(Buffer.from('gone'))] });
    const kept = groups.flat();
    expect(kept.map((c) => c.hash)).toEqual(wanted.slice(0, 151).map((w) => w.hash));
    for (const c of kept) expect(sha(c.data)).toBe(c.hash);
    // 9.4 MiB in groups of at least 4 MiB (the last one what is left), not a group per read.
    expect(groups.length).toBeLessThanOrEqual(3);
  });

  it('holds each group until the store has room for it', async () => {
    const chunks = Array.from({ length: 100 }, (_, i) => noise(64 * 1024, i + 1));
    let open = false;
    let asked = 0;
    let release = () => {};
    const groups: number[] = [];
    const fetching = fetchChunkBatch(
      chunks.map((c) => ({ hash: sha(c), size: c.length })),
      {
        master: await masterSending(chunks.flatMap((c) => raw(c))),
        token: undefined,
        compress: false,
        room: () => {
          asked++;
          return open
            ? undefined
            : new Promise<void>((r) => {
                release = r;
              });
        },
      },
      (g) => {
        groups.push(g.length);
        return [];
      },
    );
    await vi.waitFor(() => expect(asked).toBe(1), { timeout: 10_000, interval: 5 });
    // A group of 4 MiB is in hand and waits on room(); nothing reached the store.
    expect(groups).toEqual([]);
    open = true;
    release();
    expect(await fetching).toEqual({ failed: [], absent: [] });
    expect(groups.reduce((a, b) => a + b, 0)).toBe(100);
    expect(asked).toBe(groups.length);
  });

  it('decodes a small deflated chunk into a buffer of about its size', async () => {
    // zlib's default output buffer is 16 KiB: each 1 KiB chunk of a 100,000-file sync then
    // held 16 KiB of native memory until collected (about 30 MiB more at the replica's peak).
    const texts = Array.from({ length: 50 }, (_, i) => Buffer.from(`line ${i} of a small text\n`.repeat(40)));
    const frames = texts.flatMap((t) => {
      const packed = deflateRawSync(t);
      return [encodeFrameHeader(FrameKind.deflate, sha(t), packed.length), packed];
    });
    const kept: Buffer[] = [];
    const short = await fetchChunkBatch(
      texts.map((t) => ({ hash: sha(t), size: t.length })),
      { master: await masterSending(frames), token: undefined, compress: true },
      (g) => {
        kept.push(...g.map((c) => c.data));
        return [];
      },
    );
    expect(short).toEqual({ failed: [], absent: [] });
    expect(kept.map((d) => d.toString())).toEqual(texts.map((t) => t.toString()));
    // What the results hold: the distinct buffers under them, against their own bytes (a
    // small result is a slice of a shared pool: 8 KiB slabs on Node 20, 64 KiB on Node 24).
    const heldBytes = [...new Set(kept.map((d) => d.buffer))].reduce((n, b) => n + b.byteLength, 0);
    const dataBytes = kept.reduce((n, d) => n + d.length, 0);
    expect(heldBytes).toBeLessThanOrEqual(3 * dataBytes + 64 * 1024);
  });

  it('keeps what came intact before an answer goes wrong, then fails', async () => {
    const chunks = Array.from({ length: 3 }, (_, i) => noise(10_000, i + 1));
    const stray = noise(100, 77);
    const frames = [...raw(chunks[0]!), ...raw(chunks[1]!), ...raw(stray)];
    const wanted = chunks.map((c) => ({ hash: sha(c), size: c.length }));
    const kept: string[] = [];
    await expect(
      fetchChunkBatch(
        wanted,
        { master: await masterSending(frames), token: undefined, compress: false },
        (g) => {
          kept.push(...g.map((c) => c.hash));
          return [];
        },
      ),
    ).rejects.toThrow(ChunkFetchError);
    expect(kept).toEqual([sha(chunks[0]!), sha(chunks[1]!)]);
  });
});

describe('fetchChunkList', () => {
  /** A master stand-in that answers every request with this body. */
  async function masterAnswering(body: string): Promise<string> {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }
  const hash = sha(Buffer.from('a file'));

  it('returns the list the master sends for the content asked for', async () => {
    const chunks = [
      { hash: sha(Buffer.from('a ')), size: 2 },
      { hash: sha(Buffer.from('file')), size: 4 },
    ];
    const master = await masterAnswering(JSON.stringify({ hash, size: 6, chunks }));
    await expect(fetchChunkList(hash, { master, token: undefined })).resolves.toEqual(chunks);
  });

  it('says so when the answer is not JSON, as a fetch error', async () => {
    const master = await masterAnswering('<html>a proxy error page</html>');
    const got = fetchChunkList(hash, { master, token: undefined });
    await expect(got).rejects.toThrow(ChunkFetchError);
    await expect(got).rejects.toThrow(/chunk list of .* is not JSON/);
  });

  it('refuses a list of another content', async () => {
    const other = sha(Buffer.from('another file'));
    const master = await masterAnswering(JSON.stringify({ hash: other, size: 0, chunks: [] }));
    await expect(fetchChunkList(hash, { master, token: undefined })).rejects.toThrow(/malformed chunk list/);
  });
});

describe('requests to the master', () => {
  it('name the replica in their User-Agent, beside the token', async () => {
    const data = Buffer.from('one chunk');
    const hash = sha(data);
    const seen: { url: string; userAgent?: string; authorization?: string }[] = [];
    server = createServer((req, res) => {
      seen.push({
        url: req.url ?? '',
        userAgent: req.headers['user-agent'],
        authorization: req.headers.authorization,
      });
      req.resume();
      req.on('end', () => {
        if (req.url === '/_outpost/api/v1/chunks') {
          res.writeHead(200, { 'content-type': 'application/vnd.outpost.chunks' });
          res.end(Buffer.concat(raw(data)));
        } else if (req.url?.startsWith('/_outpost/api/v1/contents/')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ hash, size: data.length, chunks: [{ hash, size: data.length }] }));
        } else {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(data);
        }
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const o = {
      master: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`,
      token: 'secret',
      userAgent: replicaUserAgent('uk-london'),
    };
    await expect(fetchVerifiedChunk(hash, data.length, o)).resolves.toEqual(data);
    await fetchChunkBatch([{ hash, size: data.length }], { ...o, compress: false }, () => []);
    await expect(fetchChunkList(hash, o)).resolves.toHaveLength(1);
    expect(seen.map((s) => s.url)).toEqual([
      `/_outpost/api/v1/chunks/${hash}`,
      '/_outpost/api/v1/chunks',
      `/_outpost/api/v1/contents/${hash}`,
    ]);
    for (const s of seen) {
      expect(s.userAgent).toBe('outpost-replica (uk-london)');
      expect(s.authorization).toBe('Bearer secret');
    }
  });
});
