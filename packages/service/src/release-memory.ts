import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * Runs a full garbage collection. After applying a manifest of many thousands of files the
 * heap holds hundreds of megabytes of garbage (the manifest's JSON and objects), and V8, with
 * no allocation pressure left, would keep it, and the process's RSS with it, indefinitely.
 * Node has no public API for this; exposing gc at run time is the documented V8 flag, taken
 * from a fresh context because the main one was created before the flag was set.
 */
export function releaseMemory(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

let queued = false;

/** One `releaseMemory()` on the next turn, however many large steps ask for it meanwhile. */
export function releaseMemorySoon(): void {
  if (queued) return;
  queued = true;
  setImmediate(() => {
    queued = false;
    releaseMemory();
  });
}
