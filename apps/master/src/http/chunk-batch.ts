import { promisify } from 'node:util';
import { constants, deflateRaw, deflateRawSync } from 'node:zlib';
import { encodeFrameHeader, FrameKind } from '@outpost/protocol';
import type { ChunkStore } from '@outpost/store';

const deflate = promisify(deflateRaw);
const LEVEL = { level: 1, strategy: constants.Z_DEFAULT_STRATEGY };
/** A sample that deflates worse than this is taken as incompressible, and its chunk sent raw. */
const SAMPLE_BYTES = 4096;
const SAMPLE_RATIO = 0.85;
/** Compression is kept only when it saves at least this share. */
const KEEP_RATIO = 0.9;

/**
 * The frames of a batch response, one per asked hash in order: the chunk raw, deflated when
 * that is worth it, or "missing". Generated one chunk at a time, so a large batch is streamed
 * with backpressure rather than built in memory.
 */
export async function* chunkBatchFrames(
  chunks: ChunkStore,
  hashes: readonly string[],
  compress: boolean,
): AsyncGenerator<Buffer> {
  for (const hash of hashes) {
    const data = chunks.get(hash);
    if (!data) {
      yield encodeFrameHeader(FrameKind.missing, hash, 0);
      continue;
    }
    const packed = compress ? await compressed(data) : null;
    if (packed) {
      yield encodeFrameHeader(FrameKind.deflate, hash, packed.length);
      yield packed;
    } else {
      yield encodeFrameHeader(FrameKind.raw, hash, data.length);
      yield data;
    }
  }
}

/** The chunk deflated (off the event loop) when that saves enough, else null. */
async function compressed(data: Buffer): Promise<Buffer | null> {
  if (data.length < 512) return null;
  // Most bulk content (images, archives, media) is already compressed: a quick look at a
  // sample saves deflating a whole chunk only to throw the result away.
  if (data.length > SAMPLE_BYTES * 2) {
    const sample = deflateRawSync(data.subarray(0, SAMPLE_BYTES), LEVEL);
    if (sample.length > SAMPLE_BYTES * SAMPLE_RATIO) return null;
  }
  const out = await deflate(data, LEVEL);
  return out.length <= data.length * KEEP_RATIO ? out : null;
}
