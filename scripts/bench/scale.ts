/**
 * Scale: a big tree, and a big fleet.
 *
 * (a) `--files` (100,000) small files: the master's initial publish (spawn → listening, as it
 *     publishes before it listens), a replica's initial sync (behind a byte-counting meter),
 *     a master restart over the unchanged tree, and one file renamed in → served by the
 *     replica (several samples, and the bytes it cost on the wire); the RSS of both (peak
 *     sampled from /proc every 100 ms, and VmHWM).
 * (b) `--replicas` (100) replicas on one master, `--per-host` (25) to a process
 *     (scale-host.ts: the real replica factory, each its own store, port and WebSocket):
 *     one small file renamed in → every replica serves it (HTTP 200 with the body), `--samples`
 *     (20) times; and the master's status REST latency, idle and while a change fans out.
 *     Then one large change (`--fleet-change-mib`, 8: new text files of 256 KiB moved in at
 *     once) → every replica serves it, with the master's CPU; against lsyncd's way, one rsync
 *     per target, all at once (lsyncd runs each `sync` target's rsync on its own), to as many
 *     modules of an rsync daemon that hold the tree as it was.
 *
 *   pnpm bench:scale [--files 100000] [--replicas 100] [--per-host 25] [--samples 20]
 *                    [--fleet-change-mib 8] [--skip-tree] [--skip-fleet]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from '../../test/helpers/free-port.js';
import { REPO_ROOT } from '../../test/helpers/services.js';
import { prng, textBytes } from './dataset.js';
import {
  childrenCpuMs,
  cpuMs,
  fmtBytes,
  fmtMs,
  getJson,
  masterArgs,
  median,
  memMiB,
  onCleanup,
  percentile,
  quiet,
  ratio,
  replicaArgs,
  requireCommands,
  rssSampler,
  run,
  runMain,
  startOutpost,
  startRsyncDaemon,
  status,
  table,
  tempDir,
  track,
  until,
} from './lib.js';
import { startTcpMeter } from './tcp-meter.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '100000' },
    replicas: { type: 'string', default: '100' },
    'per-host': { type: 'string', default: '25' },
    samples: { type: 'string', default: '20' },
    'change-samples': { type: 'string', default: '10' },
    'fleet-change-mib': { type: 'string', default: '8' },
    'skip-tree': { type: 'boolean', default: false },
    'skip-fleet': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const agent = new Agent({ connections: 2, pipelining: 1 });

async function serves(url: string, expected: string): Promise<boolean> {
  const res = await request(url, { dispatcher: agent });
  const text = await res.body.text();
  return res.statusCode === 200 && text === expected;
}

/** Writes `n` small text files (100 B – 4 KiB, log-uniform) in folders of 100. */
function writeTree(dir: string, n: number): number {
  const r = prng(100);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${String(Math.floor(i / 100)).padStart(4, '0')}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const size = Math.round(Math.exp(Math.log(100) + r() * Math.log(4096 / 100)));
    writeFileSync(join(sub, `f${i}.txt`), textBytes(size, r));
    bytes += size;
  }
  return bytes;
}

async function bigTree(root: string) {
  const n = Number(values.files);
  const content = join(root, 'tree-content');
  const staging = join(root, 'tree-staging');
  mkdirSync(content, { recursive: true });
  mkdirSync(staging, { recursive: true });
  const tg = performance.now();
  const bytes = writeTree(content, n);
  console.log(`(a) tree: ${n} files, ${fmtBytes(bytes)}, written in ${fmtMs(performance.now() - tg)}`);
  const port = await freePort();
  const meter = await startTcpMeter(port);
  onCleanup(() => meter.close());
  const rows: string[][] = [];

  const t0 = performance.now();
  let master = await startOutpost(masterArgs(content, join(root, 'tree-master'), port), {
    ready: 'outpost master listening',
    timeoutMs: 3_600_000,
  });
  onCleanup(() => master.stop());
  const mPeak = rssSampler(master.pid);
  const published = await status(master.url);
  rows.push([
    'master initial publish (spawn → listening)',
    fmtMs(master.readyAt - t0),
    '',
    `v${published.version}, ${published.files} files; master RSS now ${memMiB(master.pid).rss.toFixed(0)} MiB, peak ${mPeak.peak().toFixed(0)} MiB`,
  ]);

  meter.reset();
  const replica = await startOutpost(
    replicaArgs('tree-replica', 'bench', meter.url, join(root, 'tree-replica')),
    {
      ready: 'outpost replica listening',
    },
  );
  onCleanup(() => replica.stop());
  const rPeak = rssSampler(replica.pid);
  const tSync = await until(
    async () => {
      const s = await status(replica.url);
      return s.version === published.version && s.root === published.root ? performance.now() : undefined;
    },
    'the replica to hold the 100k-file version',
    3_600_000,
    20,
  );
  const w = meter.read();
  rows.push([
    'replica initial sync (spawn → holds the version)',
    fmtMs(tSync - replica.spawnedAt),
    fmtBytes(w.up + w.down),
    `replica RSS now ${memMiB(replica.pid).rss.toFixed(0)} MiB, peak ${rPeak.peak().toFixed(0)} MiB; master peak ${mPeak.peak().toFixed(0)} MiB`,
  ]);

  // Restart the master over the unchanged tree.
  await master.stop();
  mPeak.stop();
  meter.reset();
  const tr = performance.now();
  master = await startOutpost(masterArgs(content, join(root, 'tree-master'), port), {
    ready: 'outpost master listening',
    timeoutMs: 3_600_000,
  });
  onCleanup(() => master.stop());
  const mPeak2 = rssSampler(master.pid);
  const again = await status(master.url);
  const rec = master.logs.find((l) => l.msg === 'reconciled content directory');
  rows.push([
    'master restart over the unchanged tree (spawn → listening)',
    fmtMs(master.readyAt - tr),
    '',
    `reconcile ${rec?.ms ?? '?'} ms, files read ${rec?.read ?? '?'} of ${rec?.checked ?? '?'}; ` +
      `${again.version === published.version ? 'no new version' : `NEW VERSION ${again.version}`}; RSS ${memMiB(master.pid).rss.toFixed(0)} MiB`,
  ]);
  // Wait for the replica's link to come back before changing anything.
  await until(
    async () => {
      const s = await getJson<{ replicas: { connected: boolean }[] }>(`${master.url}/_outpost/api/v1/status`);
      return s.replicas.some((x) => x.connected);
    },
    'the replica to reconnect',
    120_000,
    20,
  );

  // One file renamed in → served by the replica.
  const times: number[] = [];
  const masterRss: number[] = [];
  const replicaRss: number[] = [];
  const wire: number[] = [];
  const samples = Number(values['change-samples']);
  for (let i = 0; i < samples; i++) writeFileSync(join(staging, `change-${i}.txt`), `change ${i}\n`);
  await sleep(200);
  for (let i = 0; i < samples; i++) {
    await sleep(300);
    meter.reset();
    const t = performance.now();
    renameSync(join(staging, `change-${i}.txt`), join(content, `change-${i}.txt`));
    times.push(
      await until(
        async () =>
          (await serves(`${replica.url}/change-${i}.txt`, `change ${i}\n`)) ? performance.now() - t : 0,
        'the replica to serve the change',
        120_000,
        0,
      ),
    );
    const m = meter.read();
    wire.push(m.up + m.down);
    masterRss.push(memMiB(master.pid).rss);
    replicaRss.push(memMiB(replica.pid).rss);
  }
  rows.push([
    `one file renamed in → served by the replica (median of ${samples})`,
    fmtMs(median(times)),
    fmtBytes(median(wire)),
    `samples ${times.map((t) => fmtMs(t)).join(', ')}; RSS after each, master ${masterRss.map((r) => r.toFixed(0)).join(' ')} MiB, ` +
      `replica ${replicaRss.map((r) => r.toFixed(0)).join(' ')} MiB`,
  ]);
  const end = { master: memMiB(master.pid), replica: memMiB(replica.pid) };
  rows.push([
    'memory at the end',
    '',
    '',
    `master RSS ${end.master.rss.toFixed(0)} MiB (restart peak ${mPeak2.peak().toFixed(0)}), replica RSS ${end.replica.rss.toFixed(0)} MiB (peak ${rPeak.peak().toFixed(0)})`,
  ]);
  const replicaPeak = rPeak.peak();
  mPeak2.stop();
  rPeak.stop();
  await replica.stop();
  await master.stop();
  await meter.close();
  console.log(`\n(a) ${n} files in the tree\n`);
  console.log(table(['step', 'time', 'wire bytes', 'notes'], rows));
  console.log(
    `\ngoal replica RSS ≤ 200 MiB: ${replicaPeak <= 200 ? 'met' : 'NOT met'} (peak ${replicaPeak.toFixed(0)} MiB)`,
  );
}

interface Host {
  proc: ChildProcess;
  replicas: { name: string; url: string }[];
}

async function startHost(masterUrl: string, data: string, count: number, prefix: string): Promise<Host> {
  const proc = track(
    spawn(
      process.execPath,
      [
        // BENCH_CPU_PROF=DIR: the replica hosts write CPU profiles there too, as outpost processes do.
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        '--conditions=source',
        '--import',
        'tsx',
        join(REPO_ROOT, 'scripts/bench/scale-host.ts'),
        '--master',
        masterUrl,
        '--data',
        data,
        '--count',
        String(count),
        '--prefix',
        prefix,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  onCleanup(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const replicas: { name: string; url: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const o = JSON.parse(line) as { name?: string; url?: string; ready?: boolean };
        if (o.name && o.url) replicas.push({ name: o.name, url: o.url });
        if (o.ready) resolve();
      } catch {
        // A log line.
      }
    });
    void exited.then(() => reject(new Error(`replica host exited: ${stderr.slice(-2000)}`)));
  });
  return { proc, replicas };
}

/**
 * Polls every pending replica round-robin, 8 requests in flight, until all serve it; with
 * `restMs`, each worker rests that long between polls, so that polling takes little of the
 * CPU the replicas need (the time each is seen done is then up to that much late).
 */
async function untilAllServe(
  urls: string[],
  path: string,
  expected: string,
  t0: number,
  restMs = 0,
): Promise<number[]> {
  const done = new Array<number>(urls.length).fill(Number.NaN);
  let pending = urls.map((_, i) => i);
  let cursor = 0;
  const worker = async () => {
    while (pending.length > 0) {
      if (performance.now() - t0 > 60_000) throw new Error(`${pending.length} replicas never served ${path}`);
      if (restMs > 0) await sleep(restMs);
      const i = pending[cursor++ % pending.length]!;
      if (!Number.isNaN(done[i]!)) continue;
      if (await serves(`${urls[i]}${path}`, expected)) {
        if (Number.isNaN(done[i]!)) done[i] = performance.now() - t0;
        pending = pending.filter((j) => j !== i);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return done;
}

async function fleet(root: string) {
  const total = Number(values.replicas);
  const perHost = Number(values['per-host']);
  const samples = Number(values.samples);
  const content = join(root, 'fleet-content');
  const staging = join(root, 'fleet-staging');
  mkdirSync(content, { recursive: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(content, 'seed.txt'), 'seed\n');
  const master = await startOutpost(masterArgs(content, join(root, 'fleet-master'), await freePort()), {
    ready: 'outpost master listening',
  });
  onCleanup(() => master.stop());
  const hosts: Host[] = [];
  const t0 = performance.now();
  for (let h = 0; h * perHost < total; h++)
    hosts.push(
      await startHost(
        master.url,
        join(root, 'fleet-replicas'),
        Math.min(perHost, total - h * perHost),
        `h${h}-`,
      ),
    );
  const urls = hosts.flatMap((h) => h.replicas.map((r) => r.url));
  const statusUrl = `${master.url}/_outpost/api/v1/status`;
  await until(
    async () => {
      const s = await getJson<{ replicas: { connected: boolean; state: string }[] }>(statusUrl);
      return s.replicas.filter((r) => r.connected && r.state === 'in-sync').length === total;
    },
    `all ${total} replicas connected and in sync`,
    300_000,
    100,
  );
  console.log(
    `(b) ${total} replicas in ${hosts.length} processes, all connected and in sync ${fmtMs(performance.now() - t0)} after the first spawn`,
  );

  const statusTimes = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await getJson(statusUrl);
      out.push(performance.now() - t);
    }
    return out;
  };
  const idle = await statusTimes(50);

  for (let i = 0; i < samples; i++) writeFileSync(join(staging, `fleet-${i}.txt`), `fleet note ${i}\n`);
  await sleep(200);
  const allTimes: number[] = [];
  const perReplica: number[] = [];
  const busy: number[] = [];
  for (let i = 0; i < samples; i++) {
    await sleep(300);
    const t = performance.now();
    renameSync(join(staging, `fleet-${i}.txt`), join(content, `fleet-${i}.txt`));
    let watching = true;
    const statusLoop = (async () => {
      while (watching) {
        const ts = performance.now();
        await getJson(statusUrl);
        busy.push(performance.now() - ts);
        await sleep(20);
      }
    })();
    const each = await untilAllServe(urls, `/fleet-${i}.txt`, `fleet note ${i}\n`, t);
    watching = false;
    await statusLoop;
    allTimes.push(Math.max(...each));
    perReplica.push(...each);
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  const mem = {
    master: memMiB(master.pid).rss,
    hosts: hosts.map((h) => memMiB(h.proc.pid!).rss),
  };
  const s = await getJson<{ replicas: unknown[] }>(statusUrl);
  const statusBytes = JSON.stringify(s).length;
  console.log(
    `\n(b) ${total} replicas on one master: a small file renamed in → served by all (${samples} samples)\n`,
  );
  const p = (v: number[]) => [50, 95, 99].map((q) => fmtMs(percentile(v, q)));
  console.log(
    table(
      ['measure', 'p50', 'p95', 'p99', 'max'],
      [
        [
          'rename → served by all replicas (per sample: the slowest)',
          ...p(allTimes),
          fmtMs(Math.max(...allTimes)),
        ],
        [
          'rename → served, each replica (all samples pooled)',
          ...p(perReplica),
          fmtMs(Math.max(...perReplica)),
        ],
        ['master status REST, idle (50 sequential GETs)', ...p(idle), fmtMs(Math.max(...idle))],
        [
          `master status REST while a change fans out (${busy.length} GETs)`,
          ...p(busy),
          fmtMs(Math.max(...busy)),
        ],
      ],
    ),
  );
  console.log(
    `\nstatus body ${fmtBytes(statusBytes)} for ${s.replicas.length} replicas; RSS: master ${mem.master.toFixed(0)} MiB, ` +
      `replica hosts ${mem.hosts.map((m) => m.toFixed(0)).join(' / ')} MiB (${(mem.hosts.reduce((a, b) => a + b, 0) / total).toFixed(1)} MiB a replica)`,
  );
  const p99 = percentile(allTimes, 99);
  console.log(
    `goal p99 ≤ 500 ms to all ${total}: ${p99 <= 500 ? 'met' : 'NOT met'} (${fmtMs(p99)}; ${ratio(p99, 500)} of the goal)`,
  );
  if (Number(values['fleet-change-mib']) > 0)
    await largeChange({ root, content, staging, masterPid: master.pid, hosts, urls });
  await Promise.all(
    hosts.map(async (h) => {
      h.proc.kill('SIGTERM');
      await new Promise((r) => (h.proc.exitCode === null ? h.proc.once('exit', r) : r(null)));
    }),
  );
  await master.stop();
}

/**
 * One large change to the whole fleet (text files moved in at once) → every replica serves
 * it; then the same change pushed by one rsync per target, all at once, as lsyncd would.
 */
async function largeChange(f: {
  root: string;
  content: string;
  staging: string;
  masterPid: number;
  hosts: Host[];
  urls: string[];
}) {
  requireCommands('rsync');
  const mib = Number(values['fleet-change-mib']);
  const fileBytes = 256 * 1024;
  const count = Math.max(1, Math.round((mib * 1024 * 1024) / fileBytes));
  const targets = f.urls.length;

  // rsync's targets first hold the tree as it is now, as lsyncd's would after its start.
  const modules: Record<string, string> = {};
  for (let i = 0; i < targets; i++) modules[`t${i}`] = join(f.root, 'fleet-rsync', `t${i}`);
  const daemon = await startRsyncDaemon(f.root, modules);
  // The daemon forks one process per connection; it reaps them, so their CPU shows as its children's.
  const daemonCpu = () => cpuMs(daemon.pid) + childrenCpuMs(daemon.pid);
  const rsyncAll = async () => {
    const cpu0 = { sender: childrenCpuMs(process.pid), receiver: daemonCpu() };
    const t = performance.now();
    const runs = await Promise.all(
      Object.keys(modules).map((m) => run('rsync', ['-a', '--delete', `${f.content}/`, daemon.url(m)])),
    );
    const ms = performance.now() - t;
    const failed = runs.find((r) => r.code !== 0);
    if (failed) throw new Error(`rsync failed (${failed.code}): ${failed.stderr}`);
    return {
      ms,
      p50: percentile(
        runs.map((x) => x.ms),
        50,
      ),
      sender: childrenCpuMs(process.pid) - cpu0.sender,
      receiver: daemonCpu() - cpu0.receiver,
    };
  };
  await rsyncAll();

  const bulk = join(f.staging, 'bulk');
  mkdirSync(bulk, { recursive: true });
  const r = prng(7);
  for (let i = 0; i < count; i++) writeFileSync(join(bulk, `part-${i}.txt`), textBytes(fileBytes, r));
  const marker = `large change of ${count} files\n`;
  writeFileSync(join(bulk, 'marker.txt'), marker);
  const hostPids = f.hosts.map((h) => h.proc.pid!);
  await quiet([f.masterPid, ...hostPids], 0.2, 'the fleet to go quiet');

  const cpu0 = { master: cpuMs(f.masterPid), hosts: hostPids.reduce((n, p) => n + cpuMs(p), 0) };
  const t = performance.now();
  renameSync(bulk, join(f.content, 'bulk'));
  // A version is applied whole or not at all: a replica serving the marker holds every file.
  // Polled at about 160 requests a second in all: the replicas share this machine's 2 cores.
  const each = await untilAllServe(f.urls, '/bulk/marker.txt', marker, t, 50);
  const cpu = {
    master: cpuMs(f.masterPid) - cpu0.master,
    hosts: hostPids.reduce((n, p) => n + cpuMs(p), 0) - cpu0.hosts,
  };
  await quiet([f.masterPid, ...hostPids], 0.2, 'the fleet to go quiet');
  const rs = await rsyncAll();
  await daemon.stop();

  const slowest = Math.max(...each);
  console.log(
    `\n(b) one large change (${count} text files of ${fmtBytes(fileBytes)}, ${fmtBytes(count * fileBytes)}) → served by all ${targets}\n`,
  );
  console.log(
    table(
      ['how', 'all targets hold it', 'p50 target', 'CPU of the sender', 'CPU of the receivers'],
      [
        [
          'Outpost: moved in → served by every replica',
          fmtMs(slowest),
          fmtMs(percentile(each, 50)),
          `master ${fmtMs(cpu.master)} (publish included)`,
          `${fmtMs(cpu.hosts)} (${fmtMs(cpu.hosts / targets)} a replica)`,
        ],
        [
          `rsync to ${targets} daemon modules, all at once`,
          fmtMs(rs.ms),
          fmtMs(rs.p50),
          `rsync clients ${fmtMs(rs.sender)}`,
          `${fmtMs(rs.receiver)} (${fmtMs(rs.receiver / targets)} a target)`,
        ],
      ],
    ),
  );
  console.log(`Outpost ÷ rsync, time until all targets hold the change: ${ratio(slowest, rs.ms)}`);
}

async function main() {
  const root = tempDir('outpost-bench-scale-', values.keep);
  if (!values['skip-tree']) await bigTree(root);
  if (!values['skip-fleet']) await fleet(root);
  await agent.close();
}

runMain(main);
