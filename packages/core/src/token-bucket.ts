/**
 * A byte-rate limit: `take(n)` says how long to wait before the next `n` bytes may go, so that
 * over time no more than `bytesPerSecond` pass, with bursts up to `burstBytes`.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(bytesPerSecond: number, burstBytes = Math.max(64 * 1024, bytesPerSecond / 10), now = 0) {
    if (!(bytesPerSecond > 0)) throw new RangeError('a rate limit must be above 0 bytes per second');
    this.#rate = bytesPerSecond;
    this.#burst = burstBytes;
    this.#tokens = burstBytes;
    this.#at = now;
  }

  /** Takes `bytes` at time `now` (ms); returns the milliseconds to wait before going on (0: none). */
  take(bytes: number, now: number): number {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = Math.max(this.#at, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#rate) / 1000);
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#rate;
  }
}
