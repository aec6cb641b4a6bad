import { setTimeout as sleep } from 'node:timers/promises';

/** A byte-rate limit, as core's TokenBucket is: how long to wait before `bytes` more may go. */
export interface RateLimit {
  take(bytes: number, now: number): number;
}

/**
 * Under a limit, pieces go in slices of at most this: a 256 KiB chunk at 16 KiB/s is then
 * sixteen 1 s steps, not one burst at line rate and a 16 s silence (which a reader's idle
 * timeout, 30 s, would come close to at lower rates).
 */
export const PACE_SLICE_BYTES = 16 * 1024;

/**
 * A stream's pieces, each once the rate limit lets it through; with no limit, the stream
 * itself, so an uncapped sync pays for no extra step per piece. A reader that waits slows its
 * sender as TCP's window fills; a writer that waits holds the cap on the wire itself.
 */
export function paced(pieces: AsyncIterable<Buffer>, limiter: RateLimit | undefined): AsyncIterable<Buffer> {
  return limiter ? slicedUnder(pieces, limiter) : pieces;
}

async function* slicedUnder(pieces: AsyncIterable<Buffer>, limiter: RateLimit): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    for (let at = 0; at < piece.length; at += PACE_SLICE_BYTES) {
      const slice = piece.length <= PACE_SLICE_BYTES ? piece : piece.subarray(at, at + PACE_SLICE_BYTES);
      const wait = limiter.take(slice.length, Date.now());
      if (wait > 0) await sleep(wait);
      yield slice;
    }
  }
}
