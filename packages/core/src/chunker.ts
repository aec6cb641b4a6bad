/**
 * Splits a stream of bytes into chunks. This is a fixed-size chunker: every chunk but the
 * last is exactly `size` bytes. Content-defined chunking will replace the boundary rule
 * behind the same interface (push pieces in, get whole chunks out), so stores and
 * manifests do not change with it.
 */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

export interface Chunker {
  /** Feed a piece of the stream; returns the chunks it completed. */
  push(piece: Uint8Array): Buffer[];
  /** End of stream; returns the last, possibly short, chunk (none for an empty stream). */
  finish(): Buffer[];
}

/** A chunker that cuts every `size` bytes. */
export function createFixedChunker(size: number = DEFAULT_CHUNK_SIZE): Chunker {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`chunk size must be a positive integer`);
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const take = (): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const chunk = all.subarray(0, size);
    const rest = all.subarray(size);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return Buffer.from(chunk);
  };

  return {
    push(piece) {
      if (piece.length === 0) return [];
      // Copy: the caller may reuse its buffer (as fs.read does) once push returns.
      pending.push(Buffer.from(piece));
      pendingBytes += piece.length;
      const out: Buffer[] = [];
      while (pendingBytes >= size) out.push(take());
      return out;
    },
    finish() {
      if (pendingBytes === 0) return [];
      const last = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return [last];
    },
  };
}

/** Chunks a whole buffer at once. */
export function chunkBuffer(data: Uint8Array, size: number = DEFAULT_CHUNK_SIZE): Buffer[] {
  const chunker = createFixedChunker(size);
  return [...chunker.push(data), ...chunker.finish()];
}
