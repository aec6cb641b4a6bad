/**
 * DNS at scale, in process: microseconds per query the master's responder spends answering, and
 * milliseconds per zone-view rebuild, for fleets of 100 and 4,000 replicas. No sockets: this is
 * the cost of an answer itself (what a real server pays per packet on top of its I/O).
 *
 *   pnpm bench:dns-scale [--ms 1500] [--udp SECONDS]
 *
 * Fleet: N replicas, region `uk` with 8 of them, the rest in 50 regions; loads vary (0 to 60
 * requests/s), so weights differ and the weighted rotation is used. Each case is asked in a loop
 * for about --ms milliseconds (at least 3 queries) after a short warm-up; the figure is the mean.
 * Cases: the apex A over UDP (EDNS 1232) at 100 and 4,000 replicas (mode all: an answer too
 * large is TC), the apex over TCP at 4,000 and 4,200 (past what 64 KiB holds), region `uk`
 * (8 replicas) among 4,000, the apex in mode one at 4,000; then rebuilding the zone view of
 * 4,000: from nothing, and from the view before with one replica's load changed (as the master
 * rebuilds, every few tens of ms while queries come, passing the view it replaces).
 *
 * With --udp: then queries per second through the real UDP server (the master's DnsServer, in
 * this process pinned to core 0, its view of 4,000 rebuilt every 100 ms as the master's is, so
 * the rebuilds' cost is in the figure) under dnsperf on core 1
 * (`dnsperf -c 4 -q 100 -l SECONDS`, one name over and over): region `uk` in mode all, and the
 * apex in mode one. Needs dnsperf and taskset (apt-get install -y dnsperf util-linux).
 *
 * The same script runs against an older packages/dns (buildZoneView ignores the third argument
 * it did not take): check out the older src, run, check out HEAD again.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildZoneView,
  type FleetFacts,
  type ReplicaFacts,
  Responder,
  type ZoneSettings,
  type ZoneView,
} from '@outpost/dns';
import dnsPacket from 'dns-packet';
import { DnsServer, type DnsServerOptions } from '../../apps/master/src/dns/dns-server.js';

const { values: opts } = parseArgs({
  options: {
    ms: { type: 'string', default: '1500' },
    udp: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log('usage: pnpm bench:dns-scale [--ms 1500] [--udp SECONDS]');
  process.exit(0);
}
const budgetMs = Number(opts.ms);
if (!(budgetMs >= 10 && budgetMs <= 60_000)) {
  console.error('bench:dns-scale: --ms: milliseconds per case, 10 to 60000');
  process.exit(2);
}
const udpSeconds = opts.udp === undefined ? 0 : Number(opts.udp);
if (opts.udp !== undefined && !(udpSeconds >= 1 && udpSeconds <= 600)) {
  console.error('bench:dns-scale: --udp: seconds per dnsperf run, 1 to 600');
  process.exit(2);
}

const ZONE = 'corp.example';
const NOW = 1_800_000_000_000;
const ROOT = 'a'.repeat(64);

function fleet(n: number): FleetFacts {
  const replicas: ReplicaFacts[] = [];
  for (let i = 0; i < n; i++) {
    const region = i < 8 ? 'uk' : `r${i % 50}`;
    replicas.push({
      name: `${region}-${i}`,
      region,
      connected: true,
      link: 'push',
      version: 7,
      root: ROOT,
      lastSeenAt: NOW - 100,
      error: null,
      advertise: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
      load: { requestsPerSecond: (i * 7) % 61, openConnections: i % 3 },
    });
  }
  return { latest: { version: 7, root: ROOT }, createdAt: () => NOW - 60_000, now: NOW, replicas };
}

function settings(mode: 'all' | 'one'): ZoneSettings {
  return {
    zone: ZONE,
    ttl: 5,
    mode,
    maxLag: 0,
    heartbeatMs: 1000,
    fallback: {},
    nsAddress: '127.0.0.1',
  };
}

const query = (name: string, edns: boolean) =>
  dnsPacket.encode({
    id: 7,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'A' }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as dnsPacket.Answer]
      : [],
  });

/** Runs `f` for about budgetMs (at least 3 times) after a warm-up; the mean in microseconds. */
function time(f: () => unknown): { us: number; runs: number } {
  const warm = performance.now();
  while (performance.now() - warm < budgetMs / 5) f();
  let runs = 0;
  const t0 = performance.now();
  let t = t0;
  while (runs < 3 || t - t0 < budgetMs) {
    f();
    runs++;
    t = performance.now();
  }
  return { us: ((t - t0) * 1000) / runs, runs };
}

function answerCase(what: string, view: ZoneView, q: Buffer, transport: 'udp' | 'tcp') {
  const r = new Responder();
  const sample = dnsPacket.decode(r.respond(q, transport, view)!);
  const { us, runs } = time(() => r.respond(q, transport, view));
  const tc = sample.flag_tc ? ', TC' : '';
  console.log(
    `${what.padEnd(40)} ${us.toFixed(1).padStart(10)} µs/query  (${runs} queries; ${sample.answers?.length ?? 0} records${tc})`,
  );
}

const f100 = fleet(100);
const f4000 = fleet(4000);
const all100 = buildZoneView(settings('all'), f100);
const all4000 = buildZoneView(settings('all'), f4000);
const all4200 = buildZoneView(settings('all'), fleet(4200));
const one4000 = buildZoneView(settings('one'), f4000);

console.log(`bench:dns-scale: node ${process.version}, about ${budgetMs} ms a case`);
answerCase('apex A, UDP, 100 replicas', all100, query(ZONE, true), 'udp');
answerCase('apex A, UDP, 4,000 replicas', all4000, query(ZONE, true), 'udp');
answerCase('apex A, TCP, 4,000 replicas', all4000, query(ZONE, false), 'tcp');
answerCase('apex A, TCP, 4,200 replicas', all4200, query(ZONE, false), 'tcp');
answerCase('region of 8 among 4,000, UDP', all4000, query(`uk.${ZONE}`, true), 'udp');
answerCase('apex A, mode one, 4,000, UDP', one4000, query(ZONE, true), 'udp');
function buildCase(what: string, f: () => unknown) {
  const { us, runs } = time(f);
  console.log(`${what.padEnd(40)} ${(us / 1000).toFixed(2).padStart(10)} ms/build  (${runs} builds)`);
}
buildCase('zone view of 4,000, from nothing', () => buildZoneView(settings('all'), f4000));
// Two fleets differing in one replica's load, alternated: each rebuild sees a change.
const moved = {
  ...f4000,
  replicas: f4000.replicas.map((r, i) =>
    i === 100 ? { ...r, load: { requestsPerSecond: 500, openConnections: 0 } } : r,
  ),
};
let last = all4000;
let flip = false;
buildCase('zone view of 4,000, from the one before', () => {
  flip = !flip;
  last = buildZoneView(settings('all'), flip ? moved : f4000, last);
});

/**
 * Queries per second dnsperf (on core 1) gets from the real UDP server. The view is rebuilt
 * from the one before once it is 100 ms old, as the master does while queries come.
 */
async function udpCase(what: string, mode: 'all' | 'one', name: string) {
  let view = buildZoneView(settings(mode), f4000);
  let builtAt = Date.now();
  // The fleet's clock stands still (every replica stays heard from just now); only the
  // rebuilds' pace is real.
  const current = () => {
    if (Date.now() - builtAt >= 100) {
      view = buildZoneView(settings(mode), f4000, view);
      builtAt = Date.now();
    }
    return view;
  };
  const log = { warn: (o: unknown, m: string) => console.warn(m, o) } as unknown as DnsServerOptions['log'];
  const server = new DnsServer({
    host: '127.0.0.1',
    port: 0,
    responder: new Responder(),
    view: current,
    log,
  });
  const port = Number((await server.start()).udp.split(':')[1]);
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-dns-scale-'));
  const file = join(dir, 'queries.txt');
  writeFileSync(file, `${name} A\n`);
  const run = (seconds: number) =>
    new Promise<string>((resolve, reject) => {
      const args = ['-c', '1', 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file];
      const p = spawn('taskset', [...args, '-c', '4', '-q', '100', '-l', String(seconds)]);
      const out: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => out.push(d));
      p.stderr.on('data', (d: Buffer) => out.push(d));
      p.once('error', reject);
      p.once('close', (code) =>
        code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`dnsperf exited ${code}`)),
      );
    });
  try {
    await run(1); // warm-up
    const out = await run(udpSeconds);
    // Every answer must carry records: a fleet gone stale would answer NODATA, and fast.
    const sample = dnsPacket.decode(new Responder().respond(query(name, false), 'udp', current())!);
    if (!sample.answers?.length) throw new Error(`${name}: no records in the answer`);
    const qps = /Queries per second:\s+([\d.]+)/.exec(out)?.[1];
    const lost = /Queries lost:\s+(\d+)/.exec(out)?.[1];
    const codes = /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '?';
    if (qps === undefined) throw new Error(`dnsperf said no rate:\n${out}`);
    console.log(
      `${what.padEnd(40)} ${Number(qps).toFixed(0).padStart(10)} queries/s  (${lost ?? '?'} lost; ${codes})`,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (udpSeconds > 0) {
  // The server (this process) on core 0, dnsperf on core 1, as bench:dns does.
  execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  console.log(`real UDP server, dnsperf -c 4 -q 100 -l ${udpSeconds}:`);
  await udpCase('region of 8 among 4,000, mode all', 'all', `uk.${ZONE}`);
  await udpCase('apex, mode one, 4,000', 'one', ZONE);
}
