import { constants, deflateRawSync } from 'node:zlib';
import { encodeFrameHeader, FrameKind } from '@outpost/protocol';
import { LoopSlicer } from '@outpost/service';
import { type ChunkStore, isStoreDamage } from '@outpost/store';
import type { PackedChunks } from './packed-chunks.js';

const LEVEL = { level: 1, strategy: constants.Z_DEFAULT_STRATEGY };
/** A sample that deflates worse than this is taken as incompressible, and its chunk sent raw. */
const SAMPLE_BYTES = 4096;
const SAMPLE_RATIO = 0.85;
/**
 * A sample whose bytes are this close to evenly spread (order-0 entropy, bits per byte) is
 * taken as incompressible without deflating it. Random bytes give about 7.95 bits over a
 * 4 KiB sample and text 4–5; a format whose bytes are evenly spread but repeat (which deflate
 * would still shrink) is merely sent raw.
 */
const RANDOM_BITS = 7.9;
/** Compression is kept only when it saves at least this share. */
const KEEP_RATIO = 0.9;
/**
 * Chunks are deflated on the event loop, whatever their size (a few milliseconds for 256 KiB
 * of text here): through a zlib stream on the thread pool a chunk cost the process about
 * twice the CPU, and serving a 250 MiB first sync took the master 3.4–3.9 s of CPU instead of
 * 2.5–2.9 s. A socket that keeps up never pushes back, so the loop is given a turn every
 * SLICE_MS; every 4 ms cost the master about 0.35 s more of that sync, every 20 ms nothing
 * measurable.
 */
const SLICE_MS = 20;
/**
 * Small pieces (headers, small payloads) are sent together up to this size: a write per piece
 * cost more than the bytes. A larger payload goes out as it is, not copied.
 */
const GROUP_BYTES = 64 * 1024;

/**
 * The frames of a batch response, one per asked hash in order: the chunk raw, deflated when
 * that is worth it, or "missing". Generated one chunk at a time, so a large batch is streamed
 * with backpressure rather than built in memory. `mend` is asked for a chunk the store does
 * not have or cannot read (a row lost, a damaged page) before it is called missing: a
 * replica does not ask again for what a batch said is missing.
 */
export async function* chunkBatchFrames(
  chunks: ChunkStore,
  hashes: readonly string[],
  compress: boolean,
  packed?: PackedChunks,
  mend?: (hash: string) => Promise<Buffer | null>,
): AsyncGenerator<Buffer> {
  const slicer = new LoopSlicer(SLICE_MS);
  let group: Buffer[] = [];
  let grouped = 0;
  const takeGroup = (): Buffer => {
    const out = group.length === 1 ? group[0]! : Buffer.concat(group, grouped);
    group = [];
    grouped = 0;
    return out;
  };
  for (const hash of hashes) {
    // The stream asks for the next piece as soon as it has room: without a turn now and then,
    // a batch read from the page cache would hold every other request up until it was done.
    await slicer.pause();
    const known = compress ? packed?.get(hash) : null;
    let data = known ? undefined : stored(chunks, hash, mend !== undefined);
    if (!known && !data && mend) data = (await mend(hash)) ?? undefined;
    for (const piece of frame(hash, data, known, compress, packed)) {
      if (piece.length >= GROUP_BYTES / 4) {
        if (grouped > 0) yield takeGroup();
        yield piece;
        continue;
      }
      group.push(piece);
      grouped += piece.length;
      if (grouped >= GROUP_BYTES) yield takeGroup();
    }
  }
  if (grouped > 0) yield takeGroup();
}

/** A chunk's stored bytes; undefined when not stored, or (when it can be mended) on a damaged page. */
function stored(chunks: ChunkStore, hash: string, mendable: boolean): Buffer | undefined {
  try {
    return chunks.get(hash);
  } catch (err) {
    if (mendable && isStoreDamage(err)) return undefined;
    throw err;
  }
}

/**
 * One chunk's frame: header and payload; its wire form `known` when another replica asked for
 * it lately (null: known not to deflate; undefined: not known).
 */
function frame(
  hash: string,
  data: Buffer | undefined,
  known: Buffer | null | undefined,
  compress: boolean,
  kept?: PackedChunks,
): Buffer[] {
  if (known) return [encodeFrameHeader(FrameKind.deflate, hash, known.length), known];
  if (!data) return [encodeFrameHeader(FrameKind.missing, hash, 0)];
  let packed: Buffer | null = null;
  if (compress && known === undefined) {
    packed = compressed(data);
    kept?.offer(hash, packed);
  }
  if (packed) return [encodeFrameHeader(FrameKind.deflate, hash, packed.length), packed];
  return [encodeFrameHeader(FrameKind.raw, hash, data.length), data];
}

/** The chunk deflated when that saves enough, else null. */
function compressed(data: Buffer): Buffer | null {
  if (data.length < 512) return null;
  // Most bulk content (images, archives, media) is already compressed: a quick look at a
  // sample saves deflating a whole chunk only to throw the result away.
  if (data.length > SAMPLE_BYTES * 2) {
    const head = data.subarray(0, SAMPLE_BYTES);
    // Counting bytes costs a few microseconds; deflating the sample, far more.
    if (byteEntropy(head) >= RANDOM_BITS) return null;
    const sample = deflateRawSync(head, deflateOptions(head.length));
    if (sample.length > SAMPLE_BYTES * SAMPLE_RATIO) return null;
  }
  const out = deflateRawSync(data, deflateOptions(data.length));
  return out.length <= data.length * KEEP_RATIO ? out : null;
}

/**
 * Deflate options with an output buffer the size of the input: on Node 20 zlib's default
 * gives every small chunk a 16 KiB native buffer, held until collected; a batch of small
 * chunks then kept many times its own size alive.
 */
function deflateOptions(inputBytes: number) {
  return { ...LEVEL, chunkSize: Math.max(64, inputBytes + 64) };
}

/** Order-0 entropy of the bytes, in bits per byte (0 for none): 8 when every value is equally frequent. */
export function byteEntropy(bytes: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  let bits = 0;
  for (let v = 0; v < 256; v++) {
    const n = counts[v]!;
    if (n > 0) bits -= n * Math.log2(n / bytes.length);
  }
  return bytes.length === 0 ? 0 : bits / bytes.length;
}
