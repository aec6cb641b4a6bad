import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Runs a generator of small transactions to its end, the event loop given a turn between steps; its result. */
export async function runYielding<T>(steps: Generator<void, T>): Promise<T> {
  let s = steps.next();
  while (!s.done) {
    await yieldToLoop();
    s = steps.next();
  }
  return s.value;
}
