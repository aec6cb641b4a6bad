/** Exponential backoff with full jitter: each delay is random in [0, min(max, base·2^attempt)]. */
export function backoffDelay(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  // Never zero: a floor of minMs/2 keeps a flapping link from spinning.
  return Math.max(minMs / 2, Math.floor(random() * ceiling));
}
