import { sha256Hex } from '@outpost/core';
import { API_PREFIX } from '@outpost/protocol';
import { request } from 'undici';

/** Thrown when a chunk could not be had intact. */
export class ChunkFetchError extends Error {
  override name = 'ChunkFetchError';
}

export interface FetchOptions {
  master: string;
  token: string | undefined;
  /** Attempts per chunk before the version is given up (and NACKed). */
  attempts?: number;
  timeoutMs?: number;
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
        headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
        headersTimeout: o.timeoutMs ?? 30_000,
        bodyTimeout: o.timeoutMs ?? 30_000,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        last = `master answered ${res.statusCode} for chunk ${hash}`;
        if (res.statusCode === 401 || res.statusCode === 404) break;
        continue;
      }
      const data = Buffer.from(await res.body.arrayBuffer());
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
