import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PublisherOptions } from './publisher.js';

/**
 * Test-only: OUTPOST_TEST_LANE_HOLD names a file; while it exists, a read in the large-file
 * lane waits before each 1 MiB (the end-to-end tests hold a read open with it, not with a
 * multi-GiB file). Unset in production: the lane reads at full speed.
 */
export function laneTestHook(env: NodeJS.ProcessEnv = process.env): Pick<PublisherOptions, 'laneReadHook'> {
  const hold = env.OUTPOST_TEST_LANE_HOLD;
  if (!hold) return {};
  return {
    laneReadHook: async (_rel, stopped) => {
      while (existsSync(hold) && !stopped()) await sleep(20);
    },
  };
}
