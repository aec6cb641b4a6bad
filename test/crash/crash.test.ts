import { describe, expect, it } from 'vitest';
import { Chaos, formatSummary } from './chaos.js';
import { crashSeed } from './prng.js';

// kill -9 of the master and the replicas at random moments while versions are published,
// fetched, applied and switched to; `pnpm crash:soak` runs the same harness for longer.
describe('crash harness', () => {
  it('survives 100+ kill -9 points: stores verify, replicas serve whole versions, the fleet converges', async () => {
    const seed = crashSeed();
    console.log(`crash harness seed ${seed} (OUTPOST_CRASH_SEED=${seed} replays this plan)`);
    const chaos = new Chaos({
      seed,
      kills: 100,
      // Long rounds: a restart through the CLI costs ~1 s of CPU, `outpost verify` as much again.
      eventsPerRound: 20,
      // Large files of 0.5–1.5 MiB (some 8–24 chunks) so fetches and applies take a moment.
      content: {
        smallFiles: 5,
        bigFiles: 2,
        bigMinBytes: 512 * 1024,
        bigMaxBytes: 1536 * 1024,
        extraPaths: 4,
        bigPerChange: 2,
      },
      readerGapMs: 10,
      convergeTimeoutMs: 15_000,
      log: (line) => console.log(line),
    });
    const summary = await chaos.run();
    console.log(formatSummary(summary));

    expect(summary.kills.length).toBeGreaterThanOrEqual(100);
    expect(summary.verifyFailures).toEqual([]);
    expect(summary.failures).toEqual([]);
    expect(summary.readers.problems).toEqual([]);
    expect(summary.readers.bodiesChecked).toBeGreaterThan(100);
    expect(summary.convergenceMs.length).toBe(summary.rounds + 1);
  }, 180_000);
});
