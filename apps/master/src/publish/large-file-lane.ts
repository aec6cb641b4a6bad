/** One large file waiting for (or in) the lane: its path in the tree, and the file to read when that is another (a symlink's target). */
export interface LaneJob {
  rel: string;
  source?: string;
}

export interface LargeFileLaneOptions {
  /** Reads one file and publishes it (or gives up on it); never rejects. */
  run: (job: LaneJob) => Promise<void>;
  /** Called each time the lane has nothing left to do. */
  onIdle?: () => void;
}

/**
 * A queue that reads large files one at a time, beside the publisher's batches: a batch that
 * holds a multi-GiB file publishes the rest at once, and small edits made while that file is
 * read are not held up behind it. A path queued twice is read once; one queued again while it
 * is being read is read again after.
 */
export class LargeFileLane {
  readonly #o: LargeFileLaneOptions;
  readonly #queue = new Map<string, LaneJob>();
  #current: LaneJob | null = null;
  #since = 0;
  #running: Promise<void> | null = null;
  #closed = false;
  /** Jobs dropped at close, never read. */
  #dropped = 0;

  constructor(opts: LargeFileLaneOptions) {
    this.#o = opts;
  }

  /** Queues a file to be read; ignored once closed. */
  enqueue(job: LaneJob): void {
    if (this.#closed) return;
    // Queued again while it is read: the read under way may have the old bytes, so it goes again.
    this.#queue.set(job.rel, job);
    this.#running ??= this.#drain();
  }

  /** True from a job's start until nothing is queued or running. */
  get busy(): boolean {
    return this.#current !== null || this.#queue.size > 0;
  }

  /** The path being read now, if any. */
  get reading(): string | null {
    return this.#current?.rel ?? null;
  }

  /** Files in the lane (the one read now and those queued) and since when it has been busy; null when idle. */
  get progress(): { files: number; since: number } | null {
    if (!this.busy) return null;
    return { files: this.#queue.size + (this.#current ? 1 : 0), since: this.#since };
  }

  /** Stops taking jobs, drops the queued ones, and resolves once the one running ends; to the number of files left unread. */
  async close(): Promise<number> {
    this.#closed = true;
    this.#dropped += this.#queue.size;
    this.#queue.clear();
    await this.#running;
    return this.#dropped;
  }

  async #drain(): Promise<void> {
    this.#since = Date.now();
    try {
      for (;;) {
        const next = this.#queue.entries().next();
        if (next.done || this.#closed) break;
        const [rel, job] = next.value;
        this.#queue.delete(rel);
        this.#current = job;
        try {
          await this.#o.run(job);
        } finally {
          this.#current = null;
        }
      }
    } finally {
      this.#running = null;
    }
    if (!this.#closed) this.#o.onIdle?.();
  }
}
