import { inflateRawSync } from 'node:zlib';
import { type ChunkRef, sha256Hex, type TokenBucket } from '@outpost/core';
import {
  API_PREFIX,
  type ChunkFrame,
  ChunkFrameReader,
  ContentChunksSchema,
  FrameKind,
  LIMITS,
} from '@outpost/protocol';
import { paced } from '@outpost/service';
import { request } from 'undici';
import { type MasterCredentials, masterHeaders } from './master-headers.js';
import { readPaced } from './paced-body.js';

/** Thrown when a chunk could not be had intact. */
export class ChunkFetchError extends Error {
  override name = 'ChunkFetchError';
}

export interface FetchOptions extends MasterCredentials {
  master: string;
  /** Attempts per chunk before the version is given up (and NACKed). */
  attempts?: number;
  timeoutMs?: number;
  /**
   * Paces reading every answer (--max-rate), one limit however many requests run at once;
   * TCP backpressure then slows the master.
   */
  limiter?: TokenBucket | undefined;
}

/**
 * Fetches one chunk by address and verifies it: bytes that do not hash to the address are
 * thrown away and asked for again, never returned.
 */
export async function fetchVerifiedChunk(hash: string, size: number, o: FetchOptions): Promise<Buffer> {
  const attempts = o.attempts ?? 3;
  let last = 'no attempt made';
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await request(`${o.master}${API_PREFIX}/chunks/${hash}`, {
        headers: masterHeaders(o),
        headersTimeout: o.timeoutMs ?? 30_000,
        bodyTimeout: o.timeoutMs ?? 30_000,
        signal: o.signal,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        last = `master answered ${res.statusCode} for chunk ${hash}`;
        if (res.statusCode === 401 || res.statusCode === 404) break;
        continue;
      }
      // One byte past the declared size already fails; reading on would spend memory for nothing.
      const data = await readPaced(res.body, o.limiter, size + 1);
      if (data.length !== size || sha256Hex(data) !== hash) {
        last = `chunk ${hash} failed verification (${data.length} bytes)`;
        continue;
      }
      return data;
    } catch (err) {
      last = `chunk ${hash}: ${(err as Error).message}`;
    }
  }
  throw new ChunkFetchError(last);
}

/** A chunk wanted: its address and declared size. */
export interface WantedChunk {
  hash: string;
  size: number;
}

export interface BatchOptions extends FetchOptions {
  /** Ask for compressible chunks deflated. */
  compress: boolean;
  /** The rate to ask the master to send at (--max-rate), under this replica's name. */
  pace?: { maxRate: number; name: string } | undefined;
  /** Told how long fetches run and how many bytes of chunks they bring (a CompressionChoice). */
  gauge?: FetchGauge | undefined;
  /**
   * Asked before each group goes to `keep`; a promise holds the group (and reading the answer,
   * so TCP slows the master) until the store can take it (a WAL past its cap, say).
   */
  room?: (() => Promise<void> | undefined) | undefined;
}

/** What watches the rate chunks arrive at. */
export interface FetchGauge {
  begin(): void;
  end(): void;
  arrived(bytes: number): void;
}

/**
 * Decoded chunks are handed to `keep` once this many bytes of them are in hand (and at the
 * end): the store then writes them in one transaction, not one per network read (about one
 * chunk), which cost about a third more per byte.
 */
const KEEP_BYTES = 4 * 1024 * 1024;

/**
 * ...or once this long has passed since the last hand-over: on a slow or capped link 4 MiB can
 * take many seconds, and progress (and its pace) is told as chunks are kept.
 */
const KEEP_MS = 500;

/** What a batch did not bring. */
export interface BatchShortfall {
  /** Came damaged, or not at all: worth asking for again, one by one. */
  failed: string[];
  /** The master said it has no such chunk: asking again would get a 404. */
  absent: string[];
}

/**
 * Fetches many chunks in one request. Each frame is decoded (to at most its declared size) as
 * it arrives and handed to `keep` in groups; `keep` verifies each against its address, as the
 * store takes only chunks that hash to it, and returns the hashes it refused. Resolves to the
 * hashes that did not come intact and those the master does not have.
 */
export async function fetchChunkBatch(
  wanted: readonly WantedChunk[],
  o: BatchOptions,
  keep: (chunks: { hash: string; data: Buffer }[]) => string[],
): Promise<BatchShortfall> {
  o.gauge?.begin();
  try {
    return await fetchBatchOnce(wanted, o, keep);
  } finally {
    o.gauge?.end();
  }
}

async function fetchBatchOnce(
  wanted: readonly WantedChunk[],
  o: BatchOptions,
  keep: (chunks: { hash: string; data: Buffer }[]) => string[],
): Promise<BatchShortfall> {
  const res = await request(`${o.master}${API_PREFIX}/chunks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...masterHeaders(o),
    },
    body: JSON.stringify({ hashes: wanted.map((w) => w.hash), compress: o.compress, ...o.pace }),
    headersTimeout: o.timeoutMs ?? 30_000,
    bodyTimeout: o.timeoutMs ?? 30_000,
    signal: o.signal,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new ChunkFetchError(`master answered ${res.statusCode} for a batch of ${wanted.length} chunks`);
  }
  const largest = wanted.reduce((n, w) => Math.max(n, w.size), 0);
  // A deflated frame is never kept unless smaller than its chunk; raw frames are the chunk.
  const reader = new ChunkFrameReader(largest);
  const failed: string[] = [];
  const absent: string[] = [];
  let next = 0;
  let decoded: { hash: string; data: Buffer }[] = [];
  let decodedBytes = 0;
  let handedAt = Date.now();
  const handOver = () => {
    handedAt = Date.now();
    if (decoded.length === 0) return;
    const group = decoded;
    decoded = [];
    decodedBytes = 0;
    failed.push(...keep(group));
  };
  try {
    for await (const piece of paced(res.body, o.limiter)) {
      for (const frame of reader.push(piece)) {
        const w = wanted[next++];
        if (!w || frame.hash !== w.hash) {
          res.body.destroy();
          throw new ChunkFetchError(`batch answer out of order at frame ${next}`);
        }
        if (frame.kind === FrameKind.missing) {
          absent.push(w.hash);
          continue;
        }
        const data = decode(frame, w.size);
        // Hashed once, by `keep`: a chunk was hashed here and again there, 5% of a sync's CPU.
        if (data && data.length === w.size) {
          decoded.push({ hash: w.hash, data });
          decodedBytes += data.length;
          o.gauge?.arrived(data.length);
        } else failed.push(w.hash);
      }
      if (decodedBytes >= KEEP_BYTES || (decoded.length > 0 && Date.now() - handedAt >= KEEP_MS)) {
        await o.room?.();
        handOver();
      }
    }
  } catch (err) {
    // What came intact before the failure is kept: a retry then needs only the rest.
    try {
      handOver();
    } catch {
      // The batch's own failure is the one to report.
    }
    throw err;
  }
  await o.room?.();
  handOver();
  for (; next < wanted.length; next++) failed.push(wanted[next]!.hash);
  return { failed, absent };
}

function decode(frame: ChunkFrame, size: number): Buffer | null {
  if (frame.kind === FrameKind.raw) return frame.payload;
  try {
    // Bounded: a deflate bomb stops at the declared size. The output buffer is the chunk's
    // size: on Node 20 zlib's default gave each small chunk a 16 KiB native buffer, kept until
    // collected, which cost a 100,000-file sync about 30 MiB of peak memory (Node 24 slices
    // small results from a shared pool either way).
    return inflateRawSync(frame.payload, {
      maxOutputLength: Math.max(1, size),
      chunkSize: Math.max(64, size + 64),
    });
  } catch {
    // Not valid deflate, or bigger than declared: the chunk is counted as failed and fetched again.
    return null;
  }
}

/** A content's chunk list from the master, as `GET …/contents/<hash>` gives it. */
export async function fetchChunkList(hash: string, o: FetchOptions): Promise<ChunkRef[]> {
  const res = await request(`${o.master}${API_PREFIX}/contents/${hash}`, {
    headers: masterHeaders(o),
    headersTimeout: o.timeoutMs ?? 30_000,
    bodyTimeout: o.timeoutMs ?? 30_000,
    signal: o.signal,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new ChunkFetchError(`master answered ${res.statusCode} for the chunk list of ${hash}`);
  }
  const text = (await readPaced(res.body, o.limiter, LIMITS.maxMasterMessageBytes)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ChunkFetchError(`the chunk list of ${hash} is not JSON: ${(err as Error).message}`);
  }
  const body = ContentChunksSchema.safeParse(json);
  if (!body.success || body.data.hash !== hash)
    throw new ChunkFetchError(`master sent a malformed chunk list for ${hash}`);
  return body.data.chunks;
}
