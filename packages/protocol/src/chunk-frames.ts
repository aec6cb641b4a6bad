import { z } from 'zod';
import { LIMITS } from './limits.js';
import { Label, Sha256 } from './scalars.js';

/** Content type of a chunk batch response. */
export const CHUNK_BATCH_TYPE = 'application/vnd.outpost.chunks';

/** `POST /_outpost/api/v1/chunks`: the chunks a replica lacks, in one request. */
export const ChunkBatchRequestSchema = z.object({
  hashes: z.array(Sha256).min(1).max(LIMITS.maxBatchChunks),
  /** The replica inflates deflate-raw frames: compressible chunks may travel compressed. */
  compress: z.boolean().default(false),
  /**
   * The replica's --max-rate in bytes per second: the master paces the frames it writes, so
   * that the cap holds on the wire (a reader that only slows its reads lets socket buffers,
   * megabytes on a fast link, fill at full speed first).
   */
  maxRate: z.number().int().min(LIMITS.minRateBytes).max(1e12).optional(),
  /** Who asks: batches in flight under one name share one pace. */
  name: Label.optional(),
});
export type ChunkBatchRequest = z.input<typeof ChunkBatchRequestSchema>;

/** How a frame's payload is to be read. */
export const FrameKind = { raw: 0, deflate: 1, missing: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** kind (1) ‖ chunk hash (32) ‖ payload length (u32be, 4). */
export const FRAME_HEADER_BYTES = 37;

/** The header of one frame; the payload follows it. */
export function encodeFrameHeader(kind: FrameKind, hash: string, length: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h[0] = kind;
  h.write(hash, 1, 32, 'hex');
  h.writeUInt32BE(length, 33);
  return h;
}

/** One frame read back. */
export interface ChunkFrame {
  kind: FrameKind;
  hash: string;
  payload: Buffer;
}

/** Thrown when a batch response does not follow the frame format. */
export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Reads frames from a byte stream cut anywhere: push what arrives, take the frames that are
 * complete. A length or kind out of bounds is an error, not an allocation.
 */
export class ChunkFrameReader {
  #pending: Buffer[] = [];
  #buffered = 0;
  readonly #maxPayload: number;

  constructor(maxPayload: number = LIMITS.maxChunkBytes) {
    this.#maxPayload = maxPayload;
  }

  /** Bytes held that do not yet make a whole frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds bytes; returns every frame now complete. */
  push(data: Buffer): ChunkFrame[] {
    this.#pending.push(data);
    this.#buffered += data.length;
    const frames: ChunkFrame[] = [];
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const head = this.#peek(FRAME_HEADER_BYTES);
      const kind = head[0]!;
      if (kind !== FrameKind.raw && kind !== FrameKind.deflate && kind !== FrameKind.missing)
        throw new FrameError(`unknown frame kind ${kind}`);
      const length = head.readUInt32BE(33);
      if (length > this.#maxPayload) throw new FrameError(`frame of ${length} bytes is over the limit`);
      if (kind === FrameKind.missing && length !== 0) throw new FrameError('a missing frame has a payload');
      if (this.#buffered < FRAME_HEADER_BYTES + length) break;
      const whole = this.#take(FRAME_HEADER_BYTES + length);
      frames.push({
        kind: kind as FrameKind,
        hash: whole.toString('hex', 1, 33),
        payload: whole.subarray(FRAME_HEADER_BYTES),
      });
    }
    return frames;
  }

  #peek(n: number): Buffer {
    if (this.#pending[0]!.length < n) this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0]!;
  }

  #take(n: number): Buffer {
    const first = this.#peek(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.#pending.shift();
    else this.#pending[0] = first.subarray(n);
    this.#buffered -= n;
    return out;
  }
}
