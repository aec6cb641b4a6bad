/** Options of a batcher: the quiet window that ends a burst, and the longest a path may wait. */
export interface BatcherOptions {
  quietMs: number;
  maxDelayMs: number;
  /** How long the first event after a quiet spell waits for its burst's next events (default 0). */
  gatherMs?: number;
  onBatch: (paths: Set<string>) => void;
}

export interface Batcher {
  /** Notes that a path changed. */
  add(path: string): void;
  /** Hands over whatever is pending now. */
  flush(): void;
  /** Drops pending paths and timers. */
  close(): void;
  readonly pending: number;
}

/**
 * Coalesces bursts of change events into batches. The first event after a quiet spell goes
 * out at once (with whatever arrives in the same tick), so a lone change is not delayed;
 * events that follow are gathered until they have been quiet for `quietMs`, or until
 * `maxDelayMs` after the first of them, so a steady stream still publishes.
 */
export function createBatcher(opts: BatcherOptions): Batcher {
  let paths = new Set<string>();
  let quietTimer: NodeJS.Timeout | undefined;
  let maxTimer: NodeJS.Timeout | undefined;
  let lastFlushAt = Number.NEGATIVE_INFINITY;
  let leading = false;

  const clear = () => {
    if (quietTimer) clearTimeout(quietTimer);
    if (maxTimer) clearTimeout(maxTimer);
    quietTimer = undefined;
    maxTimer = undefined;
    leading = false;
  };

  const flush = () => {
    clear();
    if (paths.size === 0) return;
    lastFlushAt = Date.now();
    const batch = paths;
    paths = new Set();
    opts.onBatch(batch);
  };

  return {
    add(path) {
      paths.add(path);
      if (leading) return;
      if (quietTimer === undefined && Date.now() - lastFlushAt >= opts.quietMs) {
        // Leading edge: a short timer still gathers the events of the same burst of renames.
        leading = true;
        quietTimer = setTimeout(flush, opts.gatherMs ?? 0);
        return;
      }
      if (quietTimer) clearTimeout(quietTimer);
      quietTimer = setTimeout(flush, opts.quietMs);
      maxTimer ??= setTimeout(flush, opts.maxDelayMs);
    },
    flush,
    close() {
      clear();
      paths = new Set();
    },
    get pending() {
      return paths.size;
    },
  };
}
