import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Lets a long run of mostly synchronous steps (stats and reads of small cached files) give the
 * event loop a turn once every `sliceMs`, rather than once per step: a turn per step costs more
 * than the step, and no turn at all would hold sockets and timers up for the whole run.
 * Shared by concurrent workers: one turn is taken for all of them, not one each.
 */
export class LoopSlicer {
  readonly #sliceMs: number;
  #since = performance.now();
  #turn: Promise<void> | null = null;

  constructor(sliceMs: number) {
    this.#sliceMs = sliceMs;
  }

  /** Nothing to wait for while the slice lasts; once it is spent, the loop's next turn. */
  pause(): Promise<void> | undefined {
    if (this.#turn) return this.#turn;
    if (performance.now() - this.#since < this.#sliceMs) return undefined;
    this.#turn = yieldToLoop().then(() => {
      this.#turn = null;
      this.#since = performance.now();
    });
    return this.#turn;
  }
}
