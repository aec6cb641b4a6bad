/**
 * Bulk transfer, Outpost against rsync, in the same run on copies of the same data:
 *
 *   initial sync → 1% of the files edited → 1 byte flipped in the middle of the big file →
 *   100 files renamed → no change at all
 *
 * The data set (default 10,000 files, 250 MiB, one 100 MiB file; see dataset.ts) is made once,
 * from a seeded PRNG, and copied for each system and run.
 *
 * - Outpost: a master on its copy, one replica whose `--master` is a byte-counting TCP meter in
 *   front of the master (the WebSocket and the chunk fetches both cross it). Time: from the
 *   change on disk until the replica's status (`GET /_outpost/api/v1/status`) names the
 *   master's version and root, and that version holds the change (checked against the
 *   master's `/versions/<n>` entries). Initial: from spawning the master on the full tree
 *   (it publishes at start) until the replica holds that version. The replica is spawned
 *   once the master has published (`--replica-at=publish`, the default), or once it has
 *   bound its port (`--replica-at=bind`: as in a deployment where replicas already run when
 *   the master starts; the sync still waits for the version). No change: the master
 *   restarted over the unchanged tree, from spawn until it is ready (it has reconciled; the
 *   watcher's crawl follows, and the note says when it was done) with no new version cut.
 * - rsync: `rsync -a --stats --delete SRC/ rsync://127.0.0.1:<meter>/bulk/`, the meter in
 *   front of an `rsync --daemon` on 127.0.0.1. Time: the client's wall time.
 *
 * Bytes are counted at the meters (TCP payload, both ways), not by either program.
 *
 *   pnpm bench:bulk [--files 10000] [--mib 250] [--runs 3] [--keep] [--initial-only]
 *                   [--replica-args='--no-wire-compression …'] [--replica-at=bind|publish] [--pin]
 *
 * --pin runs the master on CPU 0 and the replica on CPU 1 (taskset), as if each had a host
 * of its own (rsync is left free to use both).
 * --initial-only stops each run after the initial sync (and rsync's initial pass): a quick
 * loop for work on the initial sync alone. --replica-args are added to the replica's command
 * line (split on spaces), to measure one of its options against the defaults.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/helpers/free-port.js';
import { REPO_ROOT } from '../../test/helpers/services.js';
import { type Dataset, fileBytes, planDataset, prng, sha256, writeDataset } from './dataset.js';
import {
  cpuMs,
  fileSizeSampler,
  flushDisk,
  fmtBytes,
  fmtMs,
  getJson,
  masterArgs,
  median,
  memMiB,
  onCleanup,
  type Proc,
  quiet,
  ratio,
  replicaArgs,
  requireCommands,
  rssSampler,
  run,
  runMain,
  type StatusLike,
  startOutpost,
  startRsyncDaemon,
  status,
  table,
  tempDir,
  until,
} from './lib.js';
import { startTcpMeter } from './tcp-meter.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '10000' },
    mib: { type: 'string', default: '250' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    'initial-only': { type: 'boolean', default: false },
    'replica-args': { type: 'string', default: '' },
    'replica-at': { type: 'string', default: 'publish' },
    pin: { type: 'boolean', default: false },
  },
});
if (!['bind', 'publish'].includes(values['replica-at']))
  throw new Error(`--replica-at is 'bind' or 'publish', not '${values['replica-at']}'`);
/** Master on CPU 0, replica on CPU 1 (taskset), as if each had a host of its own; rsync is not pinned. */
const PIN = values.pin;
/** When the replica is started for the initial sync: once the master binds, or once it has published. */
const REPLICA_AT = values['replica-at'] as 'bind' | 'publish';
const FILES = Number(values.files);
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const SEED = Number(values.seed);
const CHANGED = Math.max(1, Math.round(FILES / 100));
const RENAMED = Math.min(100, Math.max(1, Math.floor(FILES / 10)));
const INITIAL_ONLY = values['initial-only'];
const REPLICA_ARGS = values['replica-args'].split(/\s+/).filter(Boolean);

const PHASES = [
  'initial sync',
  '1% of files edited',
  '1 byte flipped in the big file',
  `${RENAMED} files renamed`,
  'no change',
  'no change, again',
] as const;
type Phase = (typeof PHASES)[number];

interface Measure {
  ms: number;
  bytes: number;
  up: number;
  down: number;
  note?: string;
}

/** A change applied identically to each copy, and what the master's next version must hold. */
interface Mutation {
  apply(dir: string): void;
  /** path → sha256 it must have, or null: must be gone. */
  expect: Map<string, string | null>;
}

function planMutations(d: Dataset): Mutation[] {
  const r = prng(SEED * 7919);
  const pool = d.files.filter((f) => f.kind === 'text' || f.kind === 'bin');
  const pick = new Set<number>();
  while (pick.size < Math.min(pool.length, CHANGED + RENAMED)) pick.add(Math.floor(r() * pool.length));
  const picked = [...pick].map((i) => pool[i]!);
  const edited = picked.slice(0, CHANGED);
  const renamed = picked.slice(CHANGED, CHANGED + RENAMED);

  // 1%: small edits: a line inserted mid-file (text), 16 bytes overwritten mid-file (binary).
  const edits = new Map<string, Buffer>();
  for (const f of edited) {
    const b = fileBytes(f, SEED);
    const mid = b.length >> 1;
    edits.set(
      f.path,
      f.kind === 'text'
        ? Buffer.concat([
            b.subarray(0, mid),
            Buffer.from(`\nedited by the bulk benchmark: ${f.path}\n`),
            b.subarray(mid),
          ])
        : Buffer.concat([
            b.subarray(0, mid),
            randomish(16, f.path),
            b.subarray(Math.min(b.length, mid + 16)),
          ]),
    );
  }
  const editMutation: Mutation = {
    apply: (dir) => {
      for (const [p, b] of edits) writeFileSync(join(dir, p), b);
    },
    expect: new Map([...edits].map(([p, b]) => [p, sha256(b)])),
  };

  // One byte in the middle of the big file.
  const big = d.files.find((f) => f.path === d.big)!;
  const bigBytes = fileBytes(big, SEED);
  const mid = bigBytes.length >> 1;
  bigBytes[mid]! ^= 0xff;
  const flipMutation: Mutation = {
    apply: (dir) => {
      const fd = openSync(join(dir, d.big), 'r+');
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, mid);
      one[0]! ^= 0xff;
      writeSync(fd, one, 0, 1, mid);
      closeSync(fd);
    },
    expect: new Map([[d.big, sha256(bigBytes)]]),
  };

  const renameTo = (p: string) => p.replace(/(\.[a-z]+)$/, '-renamed$1');
  const renameMutation: Mutation = {
    apply: (dir) => {
      for (const f of renamed) renameSync(join(dir, f.path), join(dir, renameTo(f.path)));
    },
    expect: new Map(
      renamed.flatMap((f) => {
        const h = sha256(fileBytes(f, SEED));
        return [
          [f.path, null],
          [renameTo(f.path), h],
        ] as [string, string | null][];
      }),
    ),
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(
    `changes: ${edited.length} files edited (${edited.filter((f) => f.kind === 'text').length} text, ` +
      `${fmtBytes(sum([...edits.values()].map((b) => b.length)))} after the edit); ` +
      `${renamed.length} files renamed (${fmtBytes(sum(renamed.map((f) => f.size)))}, ` +
      `${renamed.filter((f) => f.size <= 8192).length} of them ≤ 8 KiB)`,
  );
  return [editMutation, flipMutation, renameMutation];
}

function randomish(n: number, salt: string): Buffer {
  return Buffer.from(sha256(Buffer.from(`edit:${salt}`)).slice(0, n * 2), 'hex');
}

async function runOnce(runIndex: number, gen: string, mutations: Mutation[]) {
  const root = tempDir(`outpost-bench-bulk-run${runIndex}-`, values.keep);
  const op = join(root, 'outpost-content');
  const rs = join(root, 'rsync-source');
  execFileSync('cp', ['-a', `${gen}/.`, op]);
  execFileSync('cp', ['-a', `${gen}/.`, rs]);
  const results = new Map<Phase, { outpost: Measure; rsync: Measure }>();
  const peaks = { master: 0, replica: 0 };
  let startupMs = 0;

  // --- the two setups ---
  const masterPort = await freePort();
  const opMeter = await startTcpMeter(masterPort);
  onCleanup(() => opMeter.close());
  const daemon = await startRsyncDaemon(root, { bulk: join(root, 'rsync-target') });
  const rsMeter = await startTcpMeter(daemon.port);
  onCleanup(() => rsMeter.close());
  const rsync = async (): Promise<Measure> => {
    flushDisk();
    rsMeter.reset();
    const res = await run('rsync', ['-a', '--stats', '--delete', `${rs}/`, daemon.url('bulk', rsMeter.port)]);
    if (res.code !== 0) throw new Error(`rsync failed (${res.code}): ${res.stderr}`);
    const m = rsMeter.read();
    const sent = /Total bytes sent: ([\d,.]+)/.exec(res.stdout)?.[1] ?? '?';
    const received = /Total bytes received: ([\d,.]+)/.exec(res.stdout)?.[1] ?? '?';
    return {
      ms: res.ms,
      bytes: m.up + m.down,
      up: m.up,
      down: m.down,
      note: `rsync stats: sent ${sent}, received ${received}`,
    };
  };

  let master: Proc | undefined;
  const startMasterProc = async (ready = 'outpost master listening') => {
    const p = await startOutpost(masterArgs(op, join(root, 'outpost-master'), masterPort), {
      ready,
      ...(PIN ? { cpus: '0' } : {}),
    });
    onCleanup(() => p.stop());
    return p;
  };
  const masterStatus = () => status(`http://127.0.0.1:${masterPort}`);

  // --- initial sync ---
  flushDisk();
  opMeter.reset();
  const t0 = performance.now();
  master = await startMasterProc(
    REPLICA_AT === 'bind'
      ? 'outpost master accepting connections; reconciling the content directory'
      : 'outpost master listening',
  );
  const startReplicaProc = async () => {
    const p = await startOutpost(
      replicaArgs('bench-replica', 'bench', opMeter.url, join(root, 'outpost-replica'), REPLICA_ARGS),
      { ready: 'outpost replica listening', ...(PIN ? { cpus: '1' } : {}) },
    );
    onCleanup(() => p.stop());
    return p;
  };
  const mSampler = rssSampler(master.pid);
  const mWal = fileSizeSampler(join(root, 'outpost-master', 'master.sqlite-wal'));
  const early = REPLICA_AT === 'bind' ? await startReplicaProc() : undefined;
  const m0 = master;
  const publishedAt = (
    await until(
      () => m0.logs.find((l) => l.msg === 'outpost master listening'),
      'the master to publish',
      1_800_000,
      10,
    )
  ).at as number;
  // CPU time as well as wall time: on a shared machine it moves much less from run to run.
  const masterCpuAtReady = cpuMs(master.pid);
  const published = await masterStatus();
  const masterCpuBeforeReplica = cpuMs(master.pid);
  const replica = early ?? (await startReplicaProc());
  const rSampler = rssSampler(replica.pid);
  const rWal = fileSizeSampler(join(root, 'outpost-replica', 'replica.sqlite-wal'));
  const inSync = async (want?: StatusLike) => {
    const [m, r] = await Promise.all([want ?? masterStatus(), status(replica.url)]);
    return r.version === m.version && r.root === m.root ? { m, at: performance.now() } : undefined;
  };
  const { at: tInitial } = await until(
    () => inSync(published),
    'the replica to hold the initial version',
    1_800_000,
    10,
  );
  const init = opMeter.read();
  const cpuSync = { master: cpuMs(master.pid) - masterCpuBeforeReplica, replica: cpuMs(replica.pid) };
  const walPeak = { master: mWal.peak(), replica: rWal.peak() };
  mWal.stop();
  rWal.stop();
  results.set('initial sync', {
    outpost: {
      ms: tInitial - t0,
      bytes: init.up + init.down,
      up: init.up,
      down: init.down,
      note: `master spawn → listening with v${published.version} ${fmtMs(publishedAt - t0)}; replica spawn (${REPLICA_AT === 'bind' ? 'once the master bound' : 'after the publish'}) → in sync ${fmtMs(tInitial - replica.spawnedAt)}; CPU: master to listening ${fmtMs(masterCpuAtReady)}, then master ${fmtMs(cpuSync.master)} + replica ${fmtMs(cpuSync.replica)} (all its own) for the sync; WAL peak: master ${fmtBytes(walPeak.master)}, replica ${fmtBytes(walPeak.replica)}`,
    },
    rsync: { ms: 0, bytes: 0, up: 0, down: 0 },
  });
  peaks.master = Math.max(peaks.master, mSampler.peak());
  peaks.replica = Math.max(peaks.replica, rSampler.peak());
  await quiet([master.pid, replica.pid], 0.15, 'master and replica to go quiet');
  results.get('initial sync')!.rsync = await rsync();
  process.stdout.write(`  run ${runIndex}: initial done\n`);

  // --- changes ---
  for (const [k, mut] of (INITIAL_ONLY ? [] : mutations).entries()) {
    const phase = PHASES[k + 1]!;
    await quiet([master.pid, replica.pid], 0.15, 'master and replica to go quiet');
    flushDisk();
    const before = await masterStatus();
    opMeter.reset();
    const t = performance.now();
    mut.apply(op);
    const applyMs = performance.now() - t;
    const at = await until(
      async () => {
        const s = await inSync();
        if (!s || s.m.version <= before.version) return undefined;
        // The version must hold the whole change, not the first part of a burst.
        const detail = await getJson<{ entries: { path: string; hash: string }[] }>(
          `http://127.0.0.1:${masterPort}/_outpost/api/v1/versions/${s.m.version}`,
        );
        const byPath = new Map(detail.entries.map((e) => [e.path, e.hash]));
        for (const [p, h] of mut.expect) if ((byPath.get(p) ?? null) !== h) return undefined;
        return s.at;
      },
      `the replica to hold the change of '${phase}'`,
      600_000,
      5,
    );
    const w = opMeter.read();
    const after = await masterStatus();
    // How much of the change each version cut for it held: a burst split in two shows here.
    const steps: string[] = [];
    for (let v = before.version + 1; v <= after.version; v++) {
      const detail = await getJson<{ entries: { path: string; hash: string }[] }>(
        `http://127.0.0.1:${masterPort}/_outpost/api/v1/versions/${v}`,
      );
      const byPath = new Map(detail.entries.map((e) => [e.path, e.hash]));
      let held = 0;
      for (const [p, h] of mut.expect) if ((byPath.get(p) ?? null) === h) held++;
      steps.push(`v${v} ${held}/${mut.expect.size}`);
    }
    results.set(phase, {
      outpost: {
        ms: at - t,
        bytes: w.up + w.down,
        up: w.up,
        down: w.down,
        note: `versions cut ${after.version - before.version} (of the change held: ${steps.join(', ')}); change applied on disk in ${fmtMs(applyMs)}`,
      },
      rsync: { ms: 0, bytes: 0, up: 0, down: 0 },
    });
    peaks.master = Math.max(peaks.master, mSampler.peak());
    peaks.replica = Math.max(peaks.replica, rSampler.peak());
    await quiet([master.pid, replica.pid], 0.15, 'master and replica to go quiet');
    mut.apply(rs);
    results.get(phase)!.rsync = await rsync();
    process.stdout.write(`  run ${runIndex}: ${phase} done\n`);
  }

  // --- no change: the master restarted over the unchanged tree; rsync's no-change pass ---
  // Twice: the first restart re-reads files changed within 2 s of their last scan (the
  // master's guard against same-second edits), the second one is the steady state.
  for (const phase of INITIAL_ONLY ? [] : (['no change', 'no change, again'] as const)) {
    await quiet([master.pid, replica.pid], 0.15, 'master and replica to go quiet');
    flushDisk();
    const held = await masterStatus();
    mSampler.stop();
    await master.stop();
    opMeter.reset();
    const tr = performance.now();
    master = await startMasterProc();
    const again = await masterStatus();
    const tReady = master.readyAt - tr;
    const rec = master.logs.find((l) => l.msg === 'reconciled content directory');
    if (again.version !== held.version || again.root !== held.root)
      throw new Error(`the restart cut a new version: ${held.version} → ${again.version}`);
    // The replica's link comes back too; count its bytes until the master sees it in sync again.
    const tLink = await until(
      async () => {
        const s = await getJson<{ replicas: { name: string; connected: boolean; version: number }[] }>(
          `http://127.0.0.1:${masterPort}/_outpost/api/v1/status`,
        );
        const me = s.replicas.find((x) => x.name === 'bench-replica');
        return me?.connected && me.version === held.version ? performance.now() : undefined;
      },
      'the replica to reconnect after the master restart',
      120_000,
      10,
    );
    const w = opMeter.read();
    // Ready comes once reconciled; the watcher's crawl, and a stat-only walk after it, follow.
    const { logs } = master;
    const watchAt = await until(
      async () => logs.find((l) => l.msg === 'watching content directory')?.at as number | undefined,
      'the restarted master to watch its content directory',
      120_000,
      10,
    );
    results.set(phase, {
      outpost: {
        ms: tReady,
        bytes: w.up + w.down,
        up: w.up,
        down: w.down,
        note: `master restart: reconcile ${rec?.ms ?? '?'} ms, files read ${rec?.read ?? '?'} of ${rec?.checked ?? '?'}; watching ${fmtMs(watchAt - tr)} and replica back in sync ${fmtMs(tLink - tr)} after spawn`,
      },
      rsync: await rsync(),
    });
  }
  // The floor under every restart: node (and tsx) loading the master's code, doing nothing.
  // (`outpost help` no longer loads the services, so it is no floor for `outpost master`.)
  const dist = process.env.BENCH_CLI === 'dist' || process.env.BENCH_CLI?.endsWith('.js') === true;
  const masterCode = pathToFileURL(
    join(REPO_ROOT, dist ? 'apps/master/dist/index.js' : 'apps/master/src/index.ts'),
  );
  const tc = performance.now();
  const loaded = await run(process.execPath, [
    ...(dist ? [] : ['--conditions=source', '--import', 'tsx']),
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(masterCode.href)});`,
  ]);
  startupMs = performance.now() - tc;
  if (loaded.code !== 0) throw new Error(`loading the master's code failed: ${loaded.stderr.slice(-500)}`);
  const memNow = { master: memMiB(master.pid).rss, replica: memMiB(replica.pid).rss };
  rSampler.stop();
  peaks.replica = Math.max(peaks.replica, rSampler.peak());
  await replica.stop();
  await master.stop();
  await opMeter.close();
  await rsMeter.close();
  await daemon.stop();
  process.stdout.write(
    `  run ${runIndex}: peak RSS master ${peaks.master.toFixed(0)} MiB, replica ${peaks.replica.toFixed(0)} MiB; ` +
      `at the end master ${memNow.master.toFixed(0)} MiB, replica ${memNow.replica.toFixed(0)} MiB\n`,
  );
  return { results, peaks, startupMs };
}

async function main() {
  requireCommands('rsync');
  const d = planDataset(FILES, MIB, SEED);
  const base = tempDir('outpost-bench-bulk-', values.keep);
  const gen = join(base, 'dataset');
  mkdirSync(gen);
  const tg = performance.now();
  writeDataset(gen, d, SEED);
  const kinds = new Map<string, { n: number; bytes: number }>();
  for (const f of d.files) {
    const k = kinds.get(f.kind) ?? { n: 0, bytes: 0 };
    k.n++;
    k.bytes += f.size;
    kinds.set(f.kind, k);
  }
  console.log(
    `data set: ${d.files.length} files, ${fmtBytes(d.bytes)} (seed ${SEED}, made in ${fmtMs(performance.now() - tg)}): ` +
      [...kinds].map(([k, v]) => `${k} ${v.n} × ${fmtBytes(v.bytes)}`).join(', '),
  );
  if (REPLICA_ARGS.length > 0) console.log(`replica started with: ${REPLICA_ARGS.join(' ')}`);
  const mutations = planMutations(d);
  const all: Awaited<ReturnType<typeof runOnce>>[] = [];
  for (let i = 1; i <= RUNS; i++) all.push(await runOnce(i, gen, mutations));

  const phases = INITIAL_ONLY ? PHASES.slice(0, 1) : PHASES;
  const med = (phase: Phase, sys: 'outpost' | 'rsync', key: 'ms' | 'bytes' | 'up' | 'down') =>
    median(all.map((a) => a.results.get(phase)![sys][key]));
  console.log(
    `\nmedians of ${RUNS} run(s); bytes = TCP payload at the meter, both ways (up = toward the sender of the data)\n`,
  );
  console.log(
    table(
      ['phase', 'Outpost time', 'rsync time', 'time ratio', 'Outpost bytes', 'rsync bytes', 'bytes ratio'],
      phases.map((p) => [
        p.startsWith('no change') ? `${p} (Outpost: master restart)` : p,
        fmtMs(med(p, 'outpost', 'ms')),
        fmtMs(med(p, 'rsync', 'ms')),
        ratio(med(p, 'outpost', 'ms'), med(p, 'rsync', 'ms')),
        fmtBytes(med(p, 'outpost', 'bytes')),
        fmtBytes(med(p, 'rsync', 'bytes')),
        ratio(med(p, 'outpost', 'bytes'), med(p, 'rsync', 'bytes')),
      ]),
    ),
  );
  console.log('\nevery run (time / bytes; up + down)\n');
  console.log(
    table(
      ['phase', 'run', 'Outpost', 'rsync', 'notes'],
      phases.flatMap((p) =>
        all.map((a, i) => {
          const { outpost: o, rsync: r } = a.results.get(p)!;
          return [
            p,
            String(i + 1),
            `${fmtMs(o.ms)} / ${fmtBytes(o.bytes)} (${fmtBytes(o.up)} + ${fmtBytes(o.down)})`,
            `${fmtMs(r.ms)} / ${fmtBytes(r.bytes)} (${fmtBytes(r.up)} + ${fmtBytes(r.down)})`,
            [o.note, r.note].filter(Boolean).join('; '),
          ];
        }),
      ),
    ),
  );
  console.log(
    `\npeak RSS (median of runs): master ${median(all.map((a) => a.peaks.master)).toFixed(0)} MiB, ` +
      `replica ${median(all.map((a) => a.peaks.replica)).toFixed(0)} MiB`,
  );
  console.log(
    `node${process.env.BENCH_CLI ? '' : ' + tsx'} loading the master's code, no work: ${fmtMs(median(all.map((a) => a.startupMs)))}, ` +
      'a floor under every Outpost restart time above',
  );
  const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
  if (INITIAL_ONLY) {
    console.log(
      `\ngoal: initial ≤ 1.0× rsync's time: ${goal(med('initial sync', 'outpost', 'ms') <= med('initial sync', 'rsync', 'ms'))} ` +
        `(${ratio(med('initial sync', 'outpost', 'ms'), med('initial sync', 'rsync', 'ms'))})`,
    );
    return;
  }
  const rn = `${RENAMED} files renamed` as Phase;
  console.log('\ngoals:');
  console.log(
    `  initial ≤ 1.0× rsync's time: ${goal(med('initial sync', 'outpost', 'ms') <= med('initial sync', 'rsync', 'ms'))} ` +
      `(${ratio(med('initial sync', 'outpost', 'ms'), med('initial sync', 'rsync', 'ms'))})`,
  );
  const flip = '1 byte flipped in the big file';
  console.log(
    `  1-byte flip ≤ rsync's bytes: ${goal(med(flip, 'outpost', 'bytes') <= med(flip, 'rsync', 'bytes'))} ` +
      `(${fmtBytes(med(flip, 'outpost', 'bytes'))} vs ${fmtBytes(med(flip, 'rsync', 'bytes'))})`,
  );
  console.log(
    `  renames ≈ 0 content bytes: ${fmtBytes(med(rn, 'outpost', 'bytes'))} on the wire for ${RENAMED} renames (rsync ${fmtBytes(med(rn, 'rsync', 'bytes'))})`,
  );
  console.log(
    `  restart over an unchanged tree ≤ 0.5× rsync's no-change pass: ${goal(med('no change', 'outpost', 'ms') <= 0.5 * med('no change', 'rsync', 'ms'))} ` +
      `(${ratio(med('no change', 'outpost', 'ms'), med('no change', 'rsync', 'ms'))}; again: ` +
      `${ratio(med('no change, again', 'outpost', 'ms'), med('no change, again', 'rsync', 'ms'))})`,
  );
}

runMain(main);
