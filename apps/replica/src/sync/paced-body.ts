import type { TokenBucket } from '@outpost/core';
import { paced } from '@outpost/service';

/** Reads a whole body under the rate limit; more than `maxBytes` is an error, not memory spent. */
export async function readPaced(
  body: AsyncIterable<Buffer>,
  limiter: TokenBucket | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of paced(body, limiter)) {
    size += piece.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    pieces.push(piece);
  }
  return Buffer.concat(pieces, size);
}

/** A body went past what its kind may hold. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(maxBytes: number) {
    super(`response body is larger than ${maxBytes} bytes`);
  }
}
