/** Options of a batcher: the quiet window that ends a burst, and the longest a path may wait. */
export interface BatcherOptions {
  quietMs: number;
  maxDelayMs: number;
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
 * Coalesces a burst of change events into one batch: the batch goes out once events have
 * been quiet for `quietMs`, or `maxDelayMs` after the first one, whichever comes first, so a
 * lone change goes out almost at once and a steady stream still publishes.
 */
export function createBatcher(opts: BatcherOptions): Batcher {
  let paths = new Set<string>();
  let quietTimer: NodeJS.Timeout | undefined;
  let maxTimer: NodeJS.Timeout | undefined;

  const clear = () => {
    if (quietTimer) clearTimeout(quietTimer);
    if (maxTimer) clearTimeout(maxTimer);
    quietTimer = undefined;
    maxTimer = undefined;
  };

  const flush = () => {
    clear();
    if (paths.size === 0) return;
    const batch = paths;
    paths = new Set();
    opts.onBatch(batch);
  };

  return {
    add(path) {
      paths.add(path);
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
