import { setTimeout as sleep } from 'node:timers/promises';

/** A byte-rate limit, as core's TokenBucket is: how long to wait before `bytes` more may go. */
export interface RateLimit {
  take(bytes: number, now: number): number;
}

/**
 * Yields a stream's pieces, each once the rate limit lets it through (none: at once). A
 * reader that waits slows its sender as TCP's window fills; a writer that waits holds the cap
 * on the wire itself.
 */
export async function* paced(
  pieces: AsyncIterable<Buffer>,
  limiter: RateLimit | undefined,
): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    if (limiter) {
      const wait = limiter.take(piece.length, Date.now());
      if (wait > 0) await sleep(wait);
    }
    yield piece;
  }
}
