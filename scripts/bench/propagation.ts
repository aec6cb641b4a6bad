/**
 * How long a small file takes from its rename into the source folder until it is at every one
 * of three places, for Outpost and, in the same run and on the same files, for lsyncd driving
 * rsync to three rsync daemons:
 *
 * - Outpost: a master and three replicas (uk-london, asia-tokyo, us-newyork) on 127.0.0.1
 *   through the real CLI with its default flags; done = every replica serves the file over
 *   HTTP (200, and the body is the file's).
 * - lsyncd (Debian's) with `default.rsync`, one `sync{}` per target, each to its own
 *   `rsync --daemon` module on 127.0.0.1; done = the file is in every target folder, complete
 *   (rsync writes a temp file and renames it, so a file that is there is whole; its bytes are
 *   checked too). Once with `delay = 0`, once with lsyncd's default delay (15 s; few samples).
 *
 * Samples are 100 ms apart so each is a lone change, not part of a burst.
 *
 *   pnpm bench:propagation [--samples 20] [--default-samples 3] [--no-lsyncd]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from '../../test/helpers/free-port.js';
import {
  fmtMs,
  masterArgs,
  onCleanup,
  type Proc,
  percentile,
  ratio,
  replicaArgs,
  requireCommands,
  runMain,
  startOutpost,
  startRsyncDaemon,
  table,
  tempDir,
  track,
  until,
} from './lib.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '20' },
    'default-samples': { type: 'string', default: '3' },
    'no-lsyncd': { type: 'boolean', default: false },
    'gap-ms': { type: 'string', default: '100' },
  },
});
const samples = Number(values.samples);
const defaultSamples = Number(values['default-samples']);
const gapMs = Number(values['gap-ms']);
const REPLICAS = [
  ['uk-london', 'uk'],
  ['asia-tokyo', 'asia'],
  ['us-newyork', 'us'],
] as const;

const agent = new Agent({ connections: 8, pipelining: 1 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const body = (i: number, tag: string) => `${tag} note ${i}\n`;

/** Drops `samples` finished files into `dir` one at a time; `done(name, body)` resolves when every place has it. */
async function measure(
  dir: string,
  staging: string,
  tag: string,
  n: number,
  done: (name: string, body: string, t0: number) => Promise<number>,
): Promise<number[]> {
  // The files exist before they are moved in, as when a finished file is dropped into place.
  for (let i = 0; i < n; i++) writeFileSync(join(staging, `${tag}-${i}.txt`), body(i, tag));
  await sleep(200);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${tag}-${i}.txt`;
    const t0 = performance.now();
    renameSync(join(staging, name), join(dir, name));
    times.push(await done(name, body(i, tag), t0));
    process.stdout.write('.');
    await sleep(gapMs);
  }
  process.stdout.write('\n');
  return times;
}

async function servedBy(url: string, expected: string): Promise<boolean> {
  const res = await request(url, { dispatcher: agent });
  const text = await res.body.text();
  return res.statusCode === 200 && text === expected;
}

/** Back-to-back GETs (each waits for the last) until the replica serves the file; ms since t0. */
async function untilServed(url: string, expected: string, t0: number): Promise<number> {
  for (;;) {
    if (await servedBy(url, expected)) return performance.now() - t0;
    if (performance.now() - t0 > 30_000) throw new Error(`${url} never served it`);
  }
}

/** Polls a folder every millisecond until the file is there with the expected bytes; ms since t0. */
async function untilInFolder(
  path: string,
  expected: string,
  t0: number,
  deadlineMs: number,
): Promise<number> {
  for (;;) {
    try {
      if (readFileSync(path, 'utf8') === expected) return performance.now() - t0;
    } catch {
      // Not there yet.
    }
    if (performance.now() - t0 > deadlineMs) throw new Error(`${path} never arrived`);
    await sleep(1);
  }
}

async function outpost(root: string): Promise<number[]> {
  const content = join(root, 'op-content');
  const staging = join(root, 'op-staging');
  mkdirSync(content, { recursive: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(content, 'seed.txt'), 'seed\n');
  const master = await startOutpost(masterArgs(content, join(root, 'op-master'), await freePort()), {
    ready: 'outpost master listening',
  });
  onCleanup(() => master.stop());
  const replicas: Proc[] = await Promise.all(
    REPLICAS.map(([name, region]) =>
      startOutpost(replicaArgs(name, region, master.url, join(root, `op-${name}`)), {
        ready: 'outpost replica listening',
      }),
    ),
  );
  for (const r of replicas) onCleanup(() => r.stop());
  for (const r of replicas)
    await until(() => servedBy(`${r.url}/seed.txt`, 'seed\n'), `${r.url} to serve seed.txt`, 30_000);
  const times = await measure(content, staging, 'op', samples, async (name, expected, t0) => {
    const each = await Promise.all(replicas.map((r) => untilServed(`${r.url}/${name}`, expected, t0)));
    return Math.max(...each);
  });
  await Promise.all(replicas.map((r) => r.stop()));
  await master.stop();
  return times;
}

async function lsyncd(root: string, delay: number | undefined, n: number): Promise<number[]> {
  const tag = `ls${delay ?? 'default'}`;
  const source = join(root, `${tag}-source`);
  const staging = join(root, `${tag}-staging`);
  mkdirSync(source, { recursive: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(source, 'seed.txt'), 'seed\n');
  const targets = REPLICAS.map(([name]) => join(root, `${tag}-target-${name}`));
  const daemons = await Promise.all(targets.map((t, i) => startRsyncDaemon(root, { [`r${i}`]: t })));
  const cfg = join(root, `${tag}.lua`);
  writeFileSync(
    cfg,
    [
      'settings {',
      `  logfile = "${join(root, `${tag}.log`)}",`,
      `  statusFile = "${join(root, `${tag}.status`)}",`,
      '  nodaemon = true,',
      '}',
      ...daemons.map(
        (d, i) =>
          `sync { default.rsync, source = "${source}", target = "${d.url(`r${i}`)}"${
            delay === undefined ? '' : `, delay = ${delay}`
          } }`,
      ),
      '',
    ].join('\n'),
  );
  const proc = track(spawn('lsyncd', ['-nodaemon', cfg], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  onCleanup(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  // lsyncd starts with a full rsync of the source to every target.
  const t0 = performance.now();
  try {
    for (const t of targets) await untilInFolder(join(t, 'seed.txt'), 'seed\n', t0, 30_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; lsyncd: ${stderr.slice(-1000)}`);
  }
  const deadline = (delay ?? 15) * 1000 + 30_000;
  const times = await measure(source, staging, tag, n, async (name, expected, t) => {
    const each = await Promise.all(
      targets.map((dir) => untilInFolder(join(dir, name), expected, t, deadline)),
    );
    return Math.max(...each);
  });
  proc.kill('SIGTERM');
  await exited;
  for (const d of daemons) await d.stop();
  return times;
}

async function main() {
  requireCommands(...(values['no-lsyncd'] ? [] : ['lsyncd', 'rsync']));
  const root = tempDir('outpost-bench-prop-');
  console.log(`Outpost: master + ${REPLICAS.length} replicas, ${samples} samples`);
  const op = await outpost(root);
  const rows: [string, number[]][] = [['Outpost (served over HTTP by each replica)', op]];
  if (!values['no-lsyncd']) {
    console.log(`lsyncd delay = 0 → ${REPLICAS.length} rsync daemons, ${samples} samples`);
    rows.push([
      'lsyncd delay = 0 → rsync daemons (file in each target folder)',
      await lsyncd(root, 0, samples),
    ]);
    if (defaultSamples > 0) {
      console.log(
        `lsyncd default delay → ${REPLICAS.length} rsync daemons, ${defaultSamples} samples (~15 s each)`,
      );
      rows.push([
        'lsyncd default delay (15 s) → rsync daemons',
        await lsyncd(root, undefined, defaultSamples),
      ]);
    }
  }
  const stats = (t: number[]) => [50, 95, 99].map((p) => percentile(t, p));
  console.log(`\nrename into the source folder → at all ${REPLICAS.length} places (ms)\n`);
  console.log(
    table(
      ['system', 'samples', 'p50', 'p95', 'p99', 'min', 'max'],
      rows.map(([label, t]) => [
        label,
        String(t.length),
        ...stats(t).map(fmtMs),
        fmtMs(Math.min(...t)),
        fmtMs(Math.max(...t)),
      ]),
    ),
  );
  if (rows.length > 1) {
    console.log('\nOutpost / alternative (lower is better for Outpost)\n');
    console.log(
      table(
        ['against', 'p50', 'p95', 'p99'],
        rows.slice(1).map(([label, t]) => {
          const [a, b] = [stats(op), stats(t)];
          return [label, ...a.map((v, i) => ratio(v, b[i]!))];
        }),
      ),
    );
  }
  const [p50, , p99] = stats(op);
  console.log(
    `\ngoal p50 ≤ 20 ms: ${p50! <= 20 ? 'met' : 'NOT met'} (${fmtMs(p50!)}); ` +
      `goal p99 ≤ 60 ms: ${p99! <= 60 ? 'met' : 'NOT met'} (${fmtMs(p99!)})`,
  );
  await agent.close();
}

runMain(main);
