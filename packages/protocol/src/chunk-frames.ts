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
 * complete. A length or kind out of bounds is an error, not an allocation. A frame that lies
 * within one pushed piece is a view of it; one that spans pieces is copied once, into a buffer
 * of its own size (joining every held piece at each frame copied most bytes twice, a tenth of
 * a replica's CPU in a first sync).
 */
export class ChunkFrameReader {
  /** Pieces held; the first from `#offset` on. */
  #pending: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
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
    if (data.length > 0) {
      this.#pending.push(data);
      this.#buffered += data.length;
    }
    const frames: ChunkFrame[] = [];
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const head = this.#peekHeader();
      const kind = head[0]!;
      if (kind !== FrameKind.raw && kind !== FrameKind.deflate && kind !== FrameKind.missing)
        throw new FrameError(`unknown frame kind ${kind}`);
      const length = head.readUInt32BE(33);
      if (length > this.#maxPayload) throw new FrameError(`frame of ${length} bytes is over the limit`);
      if (kind === FrameKind.missing && length !== 0) throw new FrameError('a missing frame has a payload');
      if (this.#buffered < FRAME_HEADER_BYTES + length) break;
      const hash = head.toString('hex', 1, 33);
      this.#skip(FRAME_HEADER_BYTES);
      frames.push({ kind: kind as FrameKind, hash, payload: this.#take(length) });
    }
    return frames;
  }

  /** The next header's bytes: a view when the first piece holds them, else gathered (37 bytes). */
  #peekHeader(): Buffer {
    const first = this.#pending[0]!;
    if (first.length - this.#offset >= FRAME_HEADER_BYTES)
      return first.subarray(this.#offset, this.#offset + FRAME_HEADER_BYTES);
    let got = 0;
    let at = this.#offset;
    for (const piece of this.#pending) {
      got += piece.copy(this.#header, got, at, Math.min(piece.length, at + FRAME_HEADER_BYTES - got));
      at = 0;
      if (got === FRAME_HEADER_BYTES) break;
    }
    return this.#header;
  }

  /** The next n bytes (all held): a view of one piece, or one copy across several. */
  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.#pending[0]!;
    if (first.length - this.#offset >= n) {
      const out = first.subarray(this.#offset, this.#offset + n);
      this.#skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const piece = this.#pending[0]!;
      const end = Math.min(piece.length, this.#offset + n - got);
      got += piece.copy(out, got, this.#offset, end);
      this.#advance(piece, end);
    }
    this.#buffered -= n;
    return out;
  }

  /** Drops the next n bytes (all held). */
  #skip(n: number) {
    this.#buffered -= n;
    while (n > 0) {
      const piece = this.#pending[0]!;
      const end = Math.min(piece.length, this.#offset + n);
      n -= end - this.#offset;
      this.#advance(piece, end);
    }
  }

  /** Moves the read position of the first piece to `end`, dropping the piece once read through. */
  #advance(piece: Buffer, end: number) {
    if (end === piece.length) {
      this.#pending.shift();
      this.#offset = 0;
    } else this.#offset = end;
  }
}
