/**
 * Crash soak: the crash harness of test/crash/ run long.
 *
 * A master and two replicas (the real CLI), readers GETting from both replicas all along, and
 * rounds of kill -9 at random moments 0–300 ms after a change is written (small files plus 1–3
 * MiB ones, so fetches and applies take a moment). Targets alternate: replica A, replica B, the
 * master, both replicas; each round ends with all three killed, `outpost verify` on every
 * stopped store, a restart, and the checks (each replica serves one whole published version,
 * the fleet converges to the master's root, versions only grow and their entries give their
 * roots). Every other kill's store is checked in-process on a copy of its files.
 *
 *   pnpm crash:soak [--kills 1000] [--events-per-round 12] [--big-min-kib 1024] [--big-max-kib 3072]
 *                   [--max-delay-ms 300] [--budget-min N] [--seed N] [--keep]
 *
 * The seed is printed; OUTPOST_CRASH_SEED (or --seed) replays the same plan. Exits 1 when any
 * check failed, 2 on usage errors.
 */
import { parseArgs } from 'node:util';
import { Chaos, formatSummary } from '../test/crash/chaos.js';
import { crashSeed } from '../test/crash/prng.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '1000' },
    'events-per-round': { type: 'string', default: '12' },
    'big-min-kib': { type: 'string', default: '1024' },
    'big-max-kib': { type: 'string', default: '3072' },
    'max-delay-ms': { type: 'string', default: '300' },
    'budget-min': { type: 'string' },
    seed: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const num = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`crash-soak: --${name} must be a non-negative number\n`);
    process.exit(2);
  }
  return n;
};

const seed = values.seed === undefined ? crashSeed() : num('seed', values.seed);
const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s]`;
process.stdout.write(`crash soak: seed ${seed} (OUTPOST_CRASH_SEED=${seed} to replay)\n`);

const chaos = new Chaos({
  seed,
  kills: num('kills', values.kills),
  eventsPerRound: Math.max(0, Math.floor(num('events-per-round', values['events-per-round']))),
  maxDelayMs: num('max-delay-ms', values['max-delay-ms']),
  content: {
    smallFiles: 8,
    bigFiles: 3,
    bigMinBytes: Math.floor(num('big-min-kib', values['big-min-kib']) * 1024),
    bigMaxBytes: Math.floor(num('big-max-kib', values['big-max-kib']) * 1024),
    extraPaths: 6,
    bigPerChange: 2,
  },
  readers: 2,
  convergeTimeoutMs: 30_000,
  ...(values['budget-min'] === undefined
    ? {}
    : { budgetMs: num('budget-min', values['budget-min']) * 60_000 }),
  keep: values.keep,
  log: (line) => process.stdout.write(`${stamp()} ${line}\n`),
});

const summary = await chaos.run();
process.stdout.write(`\n${formatSummary(summary)}\n`);
const bad =
  summary.failures.length +
  summary.verifyFailures.length +
  summary.readers.problems.length +
  (summary.kills.length < Number(values.kills) && !summary.stoppedByBudget ? 1 : 0);
process.exit(bad > 0 ? 1 : 0);
