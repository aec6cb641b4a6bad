/**
 * DNS: queries per second and latency of the master's authoritative DNS, beside PowerDNS's
 * authoritative server (bind backend) serving the same records, each pinned to CPU core 0 with
 * dnsperf on core 1.
 *
 *   pnpm bench:dns [--duration 10] [--rate 5000] [--quick]
 *
 * Outpost: a master serving corp.example with three real replicas (uk-a 127.0.0.2, uk-b
 * 127.0.0.3, eu-c 127.0.0.4; mode all, so a name answers every replica, rotated per query).
 * PowerDNS: pdns_server --launch=bind, one receiver and one distributor thread, its packet cache
 * on (its default), with a zone file of the same records. Per server, two dnsperf runs over the
 * same mix of names (regions, replicas, apex, SOA, an NXDOMAIN):
 *   1. throughput: `dnsperf -c 4 -q 100 -l <duration>`: queries per second, average latency,
 *      and the CPU the server used meanwhile (from /proc), hence answers per CPU-second: on a
 *      machine shared with other work the server may not get its whole core, and that figure
 *      holds steadier than queries per second;
 *   2. latency: `dnsperf -Q <rate> -v -l <duration>`: every query's latency at a fixed rate
 *      well below either server's limit, from which p50 and p99.
 * Needs dnsperf, taskset and (for the comparison) pdns_server + pdns-backend-bind:
 *   apt-get install -y dnsperf util-linux pdns-server pdns-backend-bind
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { freePort } from '../../test/helpers/free-port.js';
import { type Service, startMaster, startReplica } from '../../test/helpers/services.js';

const SERVER_CORE = '0';
const CLIENT_CORE = '1';
const ZONE = 'corp.example';
const REPLICAS = [
  { name: 'uk-a', region: 'uk', ip: '127.0.0.2' },
  { name: 'uk-b', region: 'uk', ip: '127.0.0.3' },
  { name: 'eu-c', region: 'eu', ip: '127.0.0.4' },
];
const QUERIES = [
  `uk.${ZONE} A`,
  `eu.${ZONE} A`,
  `${ZONE} A`,
  `uk-a.${ZONE} A`,
  `uk-b.${ZONE} A`,
  `eu-c.${ZONE} A`,
  `nowhere.${ZONE} A`,
  `${ZONE} SOA`,
];

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string' },
    rate: { type: 'string', default: '5000' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log('usage: pnpm bench:dns [--duration 10] [--rate 5000] [--quick]');
  process.exit(0);
}
const duration = Number(opts.duration ?? (opts.quick ? 3 : 10));
const rate = Number(opts.rate);
if (!(duration >= 1 && duration <= 600)) fail('--duration: seconds, 1 to 600');
if (!(rate >= 100 && rate <= 1_000_000)) fail('--rate: queries per second, 100 to 1000000');

function fail(message: string): never {
  console.error(`bench:dns: ${message}`);
  process.exit(2);
}

function which(cmd: string): string | null {
  for (const dir of ['/usr/sbin', '/sbin', ...(process.env.PATH ?? '').split(delimiter)]) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return null;
}

const dnsperf = which('dnsperf') ?? fail('dnsperf not found (apt-get install -y dnsperf)');
const taskset = which('taskset') ?? fail('taskset not found (apt-get install -y util-linux)');
const pdns = which('pdns_server');
if (availableParallelism() < 2) fail('needs 2 cores: the server on one, dnsperf on the other');

const work = mkdtempSync(join(tmpdir(), 'outpost-bench-dns-'));
const queryFile = join(work, 'queries.txt');
writeFileSync(queryFile, `${QUERIES.join('\n')}\n`);

/** Pins every thread of a process (and its children) to a core. */
function pin(pid: number, core: string) {
  execFileSync(taskset, ['-a', '-cp', core, String(pid)], { stdio: 'ignore' });
}

/** CPU seconds a process (all its threads) has used, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Result {
  server: string;
  qps: number;
  /** Share of a core the server got during the throughput run (the machine may be shared). */
  cpu: number;
  /** Answers per CPU-second of the server: steadier than qps on a busy machine. */
  perCpuSecond: number;
  avgMs: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  latencyQueries: number;
}

function runDnsperf(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      taskset,
      ['-c', CLIENT_CORE, dnsperf, '-s', '127.0.0.1', '-p', String(port), '-d', queryFile, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => out.push(d));
    p.once('error', reject);
    p.once('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`dnsperf exited ${code}`)),
    );
  });
}

async function measure(server: string, port: number, pid: number): Promise<Result> {
  // A short warm-up, then the throughput run.
  await runDnsperf(port, ['-l', '1', '-c', '4', '-q', '100']);
  const cpu0 = cpuSeconds(pid);
  const wall0 = performance.now();
  const t = await runDnsperf(port, ['-l', String(duration), '-c', '4', '-q', '100', '-t', '2']);
  const cpu = cpuSeconds(pid) - cpu0;
  const wall = (performance.now() - wall0) / 1000;
  const num = (re: RegExp) => Number(re.exec(t)?.[1] ?? Number.NaN);
  const qps = num(/Queries per second:\s+([\d.]+)/);
  const completed = num(/Queries completed:\s+(\d+)/);
  const avgMs = num(/Average Latency \(s\):\s+([\d.]+)/) * 1000;
  const lost = num(/Queries lost:\s+(\d+)/);
  // The latency run: every response's latency at a fixed rate.
  const v = await runDnsperf(port, ['-l', String(duration), '-Q', String(rate), '-v', '-t', '2']);
  const lat = [...v.matchAll(/^> \w+ \S+ \S+ ([\d.]+)$/gm)]
    .map((m) => Number(m[1]) * 1000)
    .sort((a, b) => a - b);
  const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? Number.NaN;
  return {
    server,
    qps,
    cpu: cpu / wall,
    perCpuSecond: completed / cpu,
    avgMs,
    lost,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    latencyQueries: lat.length,
  };
}

async function untilAnswers(port: number, name: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const out = execFileSync('dig', [
        '@127.0.0.1',
        '-p',
        String(port),
        name,
        'A',
        '+short',
        '+time=1',
        '+tries=1',
      ])
        .toString()
        .trim();
      if (out.split('\n').length >= 2) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`no answer for ${name} on port ${port}`);
}

async function benchOutpost(): Promise<Result> {
  const dnsPort = await freePort();
  const httpPort = await freePort();
  const content = join(work, 'content');
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'index.html'), '<h1>bench</h1>\n');
  const env = { OUTPOST_LOG_LEVEL: 'info' };
  const services: Service[] = [];
  try {
    const master = await startMaster({
      content,
      data: join(work, 'master'),
      env,
      args: ['--zone', ZONE, '--dns-port', String(dnsPort), '--heartbeat-ms', '1000'],
    });
    services.push(master);
    pin(master.proc.pid!, SERVER_CORE);
    for (const r of REPLICAS) {
      const s = await startReplica({
        name: r.name,
        region: r.region,
        master: master.url,
        data: join(work, r.name),
        env,
        args: ['--host', r.ip, '--port', String(httpPort), '--heartbeat-ms', '1000'],
      });
      services.push(s);
      pin(s.proc.pid!, CLIENT_CORE);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await request(`${master.url}/_outpost/api/v1/dns`);
      const body = (await res.body.json()) as { replicas: { in: boolean }[] };
      if (body.replicas.filter((r) => r.in).length === REPLICAS.length) break;
      if (Date.now() > deadline) fail('the replicas did not come into the answers');
      await new Promise((r) => setTimeout(r, 200));
    }
    await untilAnswers(dnsPort, `uk.${ZONE}`);
    return await measure('Outpost master (Node, 1 core)', dnsPort, master.proc.pid!);
  } finally {
    await Promise.all(services.map((s) => s.stop()));
  }
}

async function benchPowerDns(): Promise<Result | null> {
  if (!pdns) {
    console.log(
      'pdns_server not found: PowerDNS is left out (apt-get install -y pdns-server pdns-backend-bind)',
    );
    return null;
  }
  const dir = join(work, 'pdns');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const zone = [
    '$TTL 5',
    `@ IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 5`,
    `@ IN NS ns.${ZONE}.`,
    'ns IN A 127.0.0.1',
    ...REPLICAS.map((r) => `@ IN A ${r.ip}`),
    ...REPLICAS.map((r) => `${r.region} IN A ${r.ip}`),
    ...REPLICAS.map((r) => `${r.name} IN A ${r.ip}`),
  ];
  writeFileSync(join(dir, `${ZONE}.zone`), `${zone.join('\n')}\n`);
  writeFileSync(
    join(dir, 'named.conf'),
    `zone "${ZONE}" { type master; file "${join(dir, `${ZONE}.zone`)}"; };\n`,
  );
  writeFileSync(
    join(dir, 'pdns.conf'),
    [
      'launch=bind',
      `bind-config=${join(dir, 'named.conf')}`,
      'local-address=127.0.0.1',
      `local-port=${port}`,
      `socket-dir=${dir}`,
      'daemon=no',
      'guardian=no',
      'disable-syslog=yes',
      'loglevel=3',
      'receiver-threads=1',
      'distributor-threads=1',
      'webserver=no',
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(taskset, ['-c', SERVER_CORE, pdns, `--config-dir=${dir}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  try {
    await untilAnswers(port, `uk.${ZONE}`).catch(() =>
      fail(`pdns_server did not answer:\n${stderr.slice(-2000)}`),
    );
    return await measure('PowerDNS 4 authoritative (bind backend)', port, proc.pid!);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

function report(results: Result[]) {
  const base = results[0]!;
  const rows = results.map((r) => [
    r.server,
    Math.round(r.qps).toLocaleString('en'),
    `${Math.round(r.cpu * 100)}%`,
    Math.round(r.perCpuSecond).toLocaleString('en'),
    r.avgMs.toFixed(3),
    String(r.lost),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r === base ? '1.00' : (r.perCpuSecond / base.perCpuSecond).toFixed(2),
  ]);
  const head = [
    'server',
    'queries/s',
    'CPU',
    'answers per CPU-s',
    'avg ms (saturated)',
    'lost',
    `p50 ms @${rate}/s`,
    `p99 ms @${rate}/s`,
    'per CPU-s vs Outpost',
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(`\n${line(head)}\n${line(head.map(() => '---'))}\n${rows.map(line).join('\n')}`);
  console.log(
    `\n${duration} s per run; dnsperf -c 4 -q 100 for throughput, -Q ${rate} -v for latency ` +
      `(${results.map((r) => r.latencyQueries).join(' / ')} answers timed); load average before: ${loadBefore}`,
  );
}

const loadBefore = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
try {
  const results: Result[] = [await benchOutpost()];
  const p = await benchPowerDns();
  if (p) results.push(p);
  report(results);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
