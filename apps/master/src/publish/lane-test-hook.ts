import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PublisherOptions } from './publisher.js';

/**
 * Test-only: OUTPOST_TEST_LANE_HOLD names a file holding a number N (empty: 0); while that file
 * exists, a read in the large-file lane goes N MiB into a file and then waits before each
 * further 1 MiB, until the file is removed or the master stops. The end-to-end tests hold a
 * read open (mid-file, chunks stored) with it, instead of timing a multi-GiB file. Unset in
 * production: the lane reads at full speed.
 */
export function laneTestHook(env: NodeJS.ProcessEnv = process.env): Pick<PublisherOptions, 'laneReadHook'> {
  const hold = env.OUTPOST_TEST_LANE_HOLD;
  if (!hold) return {};
  const reads = new Map<string, number>();
  return {
    laneReadHook: async (rel, stopped) => {
      const done = reads.get(rel) ?? 0;
      reads.set(rel, done + 1);
      while (existsSync(hold) && done >= freeMiB(hold) && !stopped()) await sleep(20);
    },
  };
}

/** The MiB a read may go before it is held: the number the hold file holds. */
function freeMiB(hold: string): number {
  try {
    return Number(readFileSync(hold, 'utf8').trim() || 0);
  } catch (err) {
    // Removed between the check and the read: nothing is held any more.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Number.POSITIVE_INFINITY;
    throw err;
  }
}
