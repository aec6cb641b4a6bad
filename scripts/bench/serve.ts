/**
 * Serving throughput and latency: the Outpost replica against nginx, Node's own http answering
 * from memory, and fastify + @fastify/static, on the same files (random bytes, so compression
 * plays no part; wrk sends no Accept-Encoding). Each server runs alone, pinned to CPU core 0
 * (the replica's master runs beside it, unpinned and idle once it has published); wrk is
 * pinned to core 1. `replica-node` is the same replica with --no-direct-lane: every request
 * through node:http, as before the direct lane (apps/replica/src/http/direct-lane.ts).
 *
 *   pnpm bench:serve [--duration 10s] [--quick] [--servers nginx,node,fastify,replica,replica-node] [--retries 1] [--tls]
 *
 * With --tls every server answers HTTPS (TLS 1.3, the test CA's P-256 certificate from
 * test/fixtures/tls; nginx with its usual `ssl_session_cache`), and wrk speaks it over its
 * keep-alive connections: what encryption costs each server, not handshakes.
 *
 * Per server and file size (4 KiB, 100 KiB, 4 MiB): a warm-up until two 1 s runs agree, then
 * `wrk -t1 -c32 -d<duration> --latency`. Then a mixed run: 4 KiB requests (32 connections)
 * while a second wrk, at nice 19, reads 4 MiB files (4 connections) alongside; its 4 KiB p99
 * is the figure. Around each run it reads /proc for the CPU the server, wrk and everything else
 * used; a run during which other processes took over 10% of a core is measured again (within
 * a bounded extra time) and flagged if it stays noisy.
 * Needs nginx, wrk and taskset (Debian: apt-get install -y nginx wrk util-linux) and 2 cores.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from '../../test/helpers/free-port.js';
import { type Service, startMaster } from '../../test/helpers/services.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(REPO_ROOT, 'apps/cli/src/main.ts');
const SERVER_CORE = '0';
const CLIENT_CORE = '1';
const CONNECTIONS = 32;
const MIXED_BIG_CONNECTIONS = 4;

// ---------------------------------------------------------------- options and prerequisites

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string' },
    quick: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'nginx,node,fastify,replica,replica-node' },
    retries: { type: 'string', default: '1' },
    tls: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(
    'usage: pnpm bench:serve [--duration 10s] [--quick] [--servers nginx,node,fastify,replica,replica-node] [--retries 1] [--tls]\n\n' +
      '  --duration  length of each measured wrk run (default 10s; --quick: 3s)\n' +
      '  --servers   which servers, in this order (replica-node: the replica with --no-direct-lane)\n' +
      '  --retries   measure again when other processes took over 10% of a core meanwhile (default 1)\n' +
      '  --tls       every server answers HTTPS (certificates from test/fixtures/tls)',
  );
  process.exit(0);
}
const duration = opts.duration ?? (opts.quick ? '3s' : '10s');
const TLS_DIR = join(REPO_ROOT, 'test/fixtures/tls');
/** The certificate every server answers with under --tls, and the agent that trusts its CA. */
const TLS = opts.tls ? { cert: join(TLS_DIR, 'server1.pem'), key: join(TLS_DIR, 'server1.key') } : undefined;
const dispatcher = new Agent(TLS ? { connect: { ca: readFileSync(join(TLS_DIR, 'ca.pem')) } } : {});
const TLS_ARGS = TLS ? ['--tls-cert', TLS.cert, '--tls-key', TLS.key] : [];
const durationSeconds = parseDuration(duration);
/** Warm-up of the mixed run (the servers are warm by then). */
const warmup = durationSeconds >= 10 ? '2s' : '1s';
/** Warm-up of each size's run: 1 s runs until two agree, at least and at most this many. */
const WARM_RUNS = { least: 2, most: 12 };
const retries = Number(opts.retries);
if (!Number.isInteger(retries) || retries < 0 || retries > 5) fail('--retries: 0 to 5');
/** Other processes using more of a core than this during a run make it noisy. */
const NOISY = 0.1;

const SERVER_KINDS = ['nginx', 'node', 'fastify', 'replica', 'replica-node'] as const;
type Kind = (typeof SERVER_KINDS)[number];
const LABEL: Record<Kind, string> = {
  nginx: 'nginx',
  node: 'Node http (memory)',
  fastify: '@fastify/static',
  replica: 'Outpost replica',
  'replica-node': 'replica, node:http only',
};
const kinds = opts.servers.split(',').map((s) => s.trim()) as Kind[];
for (const k of kinds) {
  if (!SERVER_KINDS.includes(k)) fail(`unknown server '${k}'; pick from ${SERVER_KINDS.join(', ')}`);
}

const SIZES = [
  { name: '4 KiB', file: 'file-4k.bin', bytes: 4 * 1024 },
  { name: '100 KiB', file: 'file-100k.bin', bytes: 100 * 1024 },
  { name: '4 MiB', file: 'file-4m.bin', bytes: 4 * 1024 * 1024 },
] as const;
const SMALL = SIZES[0];
const BIG = SIZES[2];

/** `10s`, `1m`, `500ms`... as wrk takes them; returns seconds. */
function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) fail(`--duration: expected something like 10s or 1m, got '${s}'`);
  const n = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm'];
  if (n < 1 || n > 120) fail(`--duration: between 1s and 2m, please (got ${s})`);
  return n;
}

function fail(message: string): never {
  console.error(`bench:serve: ${message}`);
  process.exit(2);
}

/** The full path of a command on PATH (plus the sbin folders, where Debian puts nginx), or null. */
function which(cmd: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {}
  }
  return null;
}

/** taskset's full path, once checkPrerequisites has found it. */
let taskset = 'taskset';

function checkPrerequisites(): { nginx: string; wrk: string; taskset: string } {
  const found = { nginx: which('nginx'), wrk: which('wrk'), taskset: which('taskset') };
  const missing = Object.entries(found)
    .filter(([, p]) => p === null)
    .map(([c]) => c);
  if (missing.length > 0) {
    const pkgs = missing.map((c) => (c === 'taskset' ? 'util-linux' : c));
    fail(
      `missing ${missing.join(', ')}. On Debian/Ubuntu, as root:\n\n` +
        `    apt-get update && apt-get install -y ${pkgs.join(' ')}\n\n` +
        '(nginx only needs the binary: the benchmark writes its own config and runs it in the foreground;\n' +
        ' the system service may stay stopped.)',
    );
  }
  if (availableParallelism() < 2) fail('needs 2 CPU cores: servers run on core 0, wrk on core 1');
  try {
    execFileSync(found.taskset!, ['-c', CLIENT_CORE, 'true'], { stdio: 'pipe' });
  } catch (err) {
    fail(`cannot pin to core ${CLIENT_CORE} with taskset: ${(err as Error).message}`);
  }
  taskset = found.taskset!;
  return found as { nginx: string; wrk: string; taskset: string };
}

// ---------------------------------------------------------------- processes we start, and cleanup

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  gone: boolean;
  /** The last few KB of stderr, for error messages. */
  stderr: string;
}

const children = new Set<Child>();
let master: Service | undefined;
let workDir: string | undefined;

/** Spawns `command`; pinned to `core` with taskset when given. stdout is handed to `onLine`. */
function launch(
  name: string,
  command: string,
  args: string[],
  o: { core?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): Child {
  const proc = spawn(o.core ? taskset : command, o.core ? ['-c', o.core, command, ...args] : args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = {
    name,
    proc,
    gone: false,
    stderr: '',
    // 'close', not 'exit': the last lines of its output can come after the exit, and wrk's
    // summary is its last lines (a loaded machine lost it: "wrk output without Transfer/sec").
    exited: new Promise<void>((r) => {
      proc.once('close', () => {
        child.gone = true;
        children.delete(child);
        r();
      });
      proc.once('error', (err) => {
        child.stderr += String(err);
        child.gone = true;
        children.delete(child);
        r();
      });
    }),
  };
  children.add(child);
  // Always drain both pipes: a full pipe would stall the process under test.
  const lines = createInterface({ input: proc.stdout! });
  lines.on('line', (line) => o.onLine?.(line));
  proc.stderr!.on('data', (d) => {
    child.stderr = (child.stderr + d).slice(-8000);
  });
  return child;
}

/** SIGTERM, then SIGKILL if it has not gone within `graceMs`. */
async function stopChild(c: Child, graceMs = 5000): Promise<void> {
  if (c.gone) return;
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(timer);
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
    await master?.stop();
    master = undefined;
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    workDir = undefined;
  })();
  return cleaning;
}

/** Set on Ctrl-C: the wrk runs it cut short then fail, and that is no error to report. */
let interrupted = false;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (cleaning) process.exit(code); // a second Ctrl-C: leave now ('exit' below still kills)
    interrupted = true;
    console.error(`\n${signal}: stopping everything we started...`);
    void cleanup().finally(() => process.exit(code));
  });
}
// Last resort (an exception, a second Ctrl-C): nothing we started may outlive us.
process.on('exit', () => {
  for (const c of children) {
    // With its descendants: nginx's worker would outlive a killed master.
    for (const pid of c.proc.pid ? processTree(c.proc.pid).reverse() : []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- /proc: CPU and memory

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux we know of. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A process and all its descendants (nginx: the master and its worker). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {}
  }
  return out;
}

/** user + system CPU seconds of the processes (all their threads). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {}
  }
  return ticks / CLK_TCK;
}

/** Seconds of user and system time spent by all processes on all cores, from /proc/stat. */
function processTimeAllCores(): number {
  const cpu = /^cpu\s+(\d+) (\d+) (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))!;
  return (Number(cpu[1]) + Number(cpu[2]) + Number(cpu[3])) / CLK_TCK; // user, nice, system
}

/** CPU seconds of our children that have exited and been reaped (here: the wrk runs). */
function reapedChildrenSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK; // cutime, cstime (fields 16 and 17)
}

function kib(pids: number[], field: 'VmRSS' | 'VmHWM'): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
    } catch {}
  }
  return total;
}

// ---------------------------------------------------------------- wrk

interface WrkResult {
  requests: number;
  reqPerSec: number;
  mibPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and non-2xx/3xx answers, as wrk reports them; '' when none. */
  errors: string;
  raw: string;
}

interface Load {
  wrk: WrkResult;
  /** CPU the server's processes used, as a share of one core. */
  serverCpu: number;
  /** The server's CPU time per request, in µs: the cost of an answer, least moved by noise. */
  cpuUsPerRequest: number;
  /** CPU the replica's master used meanwhile (share of one core); 0 for the other servers. */
  helperCpu: number;
  /** CPU the wrk processes used, as a share of one core (its core is the client's ceiling). */
  wrkCpu: number;
  /**
   * CPU every other process on the machine used meanwhile (share of one core): other people's
   * work that the pinning cannot keep off our two cores. Above 0.1, the figures are skewed.
   */
  otherCpu: number;
}

const TIME_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_MIB: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024, TB: 1048576 };

/** Parses wrk's report. Its sizes are binary (its "MB" is MiB), its times carry a unit. */
function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk output without ${re}:\n${out}`);
    return m;
  };
  const time = (pct: string) => {
    const m = num(new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'));
    return Number(m[1]) * TIME_MS[m[2]!]!;
  };
  const transfer = num(/^Transfer\/sec:\s+([\d.]+)([KMGT]?B)\s*$/m);
  const errors: string[] = [];
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (sock) {
    const [, connect, read, write, timeout] = sock;
    for (const [what, n] of Object.entries({ connect, read, write, timeout })) {
      if (Number(n) > 0) errors.push(`${n} ${what}`);
    }
  }
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) errors.push(`${non2xx[1]} non-2xx`);
  return {
    requests: Number(num(/^\s*(\d+) requests in/m)[1]),
    reqPerSec: Number(num(/^Requests\/sec:\s+([\d.]+)/m)[1]),
    mibPerSec: Number(transfer[1]) * SIZE_MIB[transfer[2]!]!,
    p50Ms: time('50'),
    p99Ms: time('99'),
    errors: errors.join(', '),
    raw: out,
  };
}

/** One wrk on the client core; `nice` lowers its priority (the bulk reader of the mixed run). */
function runWrk(
  wrkPath: string,
  url: string,
  connections: number,
  d: string,
  o: { nice?: boolean } = {},
): Promise<WrkResult> {
  let out = '';
  const args = ['-t1', `-c${connections}`, `-d${d}`, '--timeout', '5s', '--latency', url];
  const c = launch('wrk', o.nice ? 'nice' : wrkPath, o.nice ? ['-n', '19', wrkPath, ...args] : args, {
    core: CLIENT_CORE,
    onLine: (l) => {
      out += `${l}\n`;
    },
  });
  // wrk stops on its own after `d`; this is only a guard against a hang.
  const guard = setTimeout(() => c.proc.kill('SIGKILL'), (parseDuration(d) + 20) * 1000);
  return c.exited.then(() => {
    clearTimeout(guard);
    if (c.proc.exitCode !== 0) throw new Error(`wrk ${url} failed (${c.proc.exitCode}): ${c.stderr}${out}`);
    return parseWrk(out);
  });
}

/** CPU that other processes use over `ms` while we do nothing (share of one core). */
async function otherCpuOver(ms: number): Promise<number> {
  const all = processTimeAllCores();
  const self = process.cpuUsage();
  await sleep(ms);
  const mine = process.cpuUsage(self);
  return Math.max(0, processTimeAllCores() - all - (mine.user + mine.system) / 1e6) / (ms / 1000);
}

/**
 * Waiting for quiet and measuring again cost time beyond the plan: at most this much in a
 * whole run, so a run on a busy machine stays bounded (and then says which figures are noisy).
 */
let extraMs = 45_000;

/**
 * Waits (up to 3 s) for a quiet half second, measures, and measures again (up to --retries
 * times) when other processes took over 10% of a core meanwhile; all within `extraMs`.
 */
async function measureQuietly(pid: number, loads: Array<() => Promise<WrkResult>>): Promise<Load[]> {
  for (let attempt = 0; ; attempt++) {
    const t0 = Date.now();
    const quietBy = t0 + Math.min(3000, extraMs);
    while (Date.now() < quietBy && (await otherCpuOver(500)) > NOISY / 2) {}
    extraMs -= Date.now() - t0;
    const res = await measure(pid, loads);
    const other = Math.max(...res.map((r) => r.otherCpu));
    if (other <= NOISY || attempt >= retries || extraMs < durationSeconds * 1000) return res;
    extraMs -= durationSeconds * 1000;
    console.log(`  (other processes took ${pct(other)} of a core meanwhile; measuring again)`);
  }
}

/** Runs the wrk loads at once and measures CPU around them. */
async function measure(pid: number, loads: Array<() => Promise<WrkResult>>): Promise<Load[]> {
  const tree = processTree(pid);
  // The replica's master is ours too, though it only idles: count it apart from "other".
  const helpers = master?.proc.pid ? processTree(master.proc.pid) : [];
  const before = {
    server: cpuSeconds(tree),
    helpers: cpuSeconds(helpers),
    wrk: reapedChildrenSeconds(),
    self: process.cpuUsage(),
    all: processTimeAllCores(),
    t: performance.now(),
  };
  const results = await Promise.all(loads.map((l) => l()));
  const wall = (performance.now() - before.t) / 1000;
  const server = cpuSeconds(tree) - before.server;
  const wrk = reapedChildrenSeconds() - before.wrk;
  const self = process.cpuUsage(before.self);
  const all = processTimeAllCores() - before.all;
  const helperCpu = cpuSeconds(helpers) - before.helpers;
  const other = Math.max(0, all - server - wrk - helperCpu - (self.user + self.system) / 1e6);
  return results.map((r) => ({
    wrk: r,
    serverCpu: server / wall,
    cpuUsPerRequest: (server / results.reduce((n, w) => n + w.requests, 0)) * 1e6,
    helperCpu: helperCpu / wall,
    wrkCpu: wrk / wall,
    otherCpu: other / wall,
  }));
}

// ---------------------------------------------------------------- the servers

interface Running {
  kind: Kind;
  url: string;
  pid: number;
  /** Warnings and errors the server logged while it ran (the replica's JSON logs). */
  problems: string[];
  stop(): Promise<void>;
}

/** Waits for a JSON line with `msg` and a `url` on the child's stdout. */
function untilListening(c: Child, lines: Array<Record<string, unknown>>, msg: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  return new Promise((resolvePromise, reject) => {
    const tick = () => {
      const hit = lines.find((l) => l.msg === msg && typeof l.url === 'string');
      if (hit) return resolvePromise(String(hit.url));
      if (c.gone) return reject(new Error(`${c.name} exited before it listened: ${c.stderr.slice(-2000)}`));
      if (Date.now() > deadline) return reject(new Error(`${c.name} did not log '${msg}' within 60 s`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

function jsonLines(into: Array<Record<string, unknown>>, problems: string[]) {
  return (line: string) => {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      into.push(o);
      if (typeof o.level === 'number' && o.level >= 40) problems.push(line.slice(0, 400));
    } catch {
      into.push({ msg: line });
    }
  };
}

async function startNodeServer(kind: 'node' | 'fastify', files: string): Promise<Running> {
  const script = join(
    REPO_ROOT,
    'scripts/bench',
    kind === 'node' ? 'serve-node-http.ts' : 'serve-fastify-static.ts',
  );
  const lines: Array<Record<string, unknown>> = [];
  const problems: string[] = [];
  const c = launch(
    kind,
    process.execPath,
    ['--import', 'tsx', script, '--root', files, '--port', '0', ...TLS_ARGS],
    {
      core: SERVER_CORE,
      onLine: jsonLines(lines, problems),
    },
  );
  const url = await untilListening(c, lines, 'listening');
  return { kind, url, pid: c.proc.pid!, problems, stop: () => stopChild(c) };
}

async function startNginx(nginx: string, dir: string, files: string): Promise<Running> {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  for (const sub of ['', 'client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(prefix, sub), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `# Written by scripts/bench/serve.ts; needs no system config.
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 60s;
  keepalive_timeout 65s;
  keepalive_requests 10000;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port}${TLS ? ' ssl' : ''};
    root ${files};${
      TLS
        ? `
    ssl_certificate ${TLS.cert};
    ssl_certificate_key ${TLS.key};
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL:1m;`
        : ''
    }
  }
}
`,
  );
  const c = launch(
    'nginx',
    nginx,
    ['-p', `${prefix}/`, '-e', `${prefix}/error.log`, '-c', conf, '-g', 'daemon off;'],
    {
      core: SERVER_CORE,
    },
  );
  const url = `${TLS ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (c.gone) {
      let log = '';
      try {
        log = readFileSync(join(prefix, 'error.log'), 'utf8');
      } catch {}
      throw new Error(`nginx exited at start: ${c.stderr}${log}`.slice(-3000));
    }
    if (await answers(`${url}/${SMALL.file}`)) break;
    if (Date.now() > deadline) throw new Error('nginx did not answer within 15 s');
    await sleep(50);
  }
  return { kind: 'nginx', url, pid: c.proc.pid!, problems: [], stop: () => stopChild(c) };
}

/** A master (not pinned: it only has to publish once) and a replica pinned to core 0, via the CLI. */
/** A replica of the tree; `replica-node` answers every request through node:http (--no-direct-lane). */
async function startOutpost(dir: string, files: string, kind: 'replica' | 'replica-node'): Promise<Running> {
  // The helper waits for the master's info line 'outpost master listening', so info it is.
  master = await startMaster({
    content: files,
    data: join(dir, `master-data-${kind}`),
    env: { OUTPOST_LOG_LEVEL: 'info' },
    // The helper's 500 ms heartbeat is for tests; the default keeps the replica quieter.
    args: ['--heartbeat-ms', '5000'],
  });
  // Others may commit while a run goes on: say which code this replica process loads.
  console.log(`  (replica code: ${codeVersion()})`);
  const lines: Array<Record<string, unknown>> = [];
  const problems: string[] = [];
  // Readiness is the info line 'outpost replica listening' (with its url), so keep info: the
  // content path logs nothing per request.
  const args = [
    '--conditions=source',
    '--import',
    'tsx',
    CLI,
    'replica',
    '--name',
    'bench',
    '--region',
    'lab',
  ];
  args.push(
    '--master',
    master.url,
    '--data',
    join(dir, `${kind}-data`),
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    ...TLS_ARGS,
    ...(kind === 'replica-node' ? ['--no-direct-lane'] : []),
  );
  const c = launch('replica', process.execPath, args, {
    core: SERVER_CORE,
    env: { OUTPOST_LOG_LEVEL: 'info' },
    onLine: jsonLines(lines, problems),
  });
  const url = await untilListening(c, lines, 'outpost replica listening');
  const deadline = Date.now() + 60_000;
  for (const size of SIZES) {
    while (!(await answers(`${url}/${size.file}`))) {
      if (c.gone) throw new Error(`the replica exited: ${c.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`the replica did not serve ${size.file} within 60 s`);
      await sleep(50);
    }
  }
  return {
    kind,
    url,
    pid: c.proc.pid!,
    problems,
    async stop() {
      await stopChild(c);
      await master?.stop();
      master = undefined;
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await request(url, { method: 'HEAD', dispatcher });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** Every file comes back whole and uncompressed, before we put load on it. */
async function checkServes(s: Running, digests: Map<string, string>): Promise<string[]> {
  const heads: string[] = [];
  for (const size of SIZES) {
    const res = await request(`${s.url}/${size.file}`, { dispatcher });
    const body = Buffer.from(await res.body.arrayBuffer());
    const hash = createHash('sha256').update(body).digest('hex');
    if (res.statusCode !== 200 || hash !== digests.get(size.file)) {
      throw new Error(`${LABEL[s.kind]} served ${size.file} wrong: ${res.statusCode}, ${body.length} bytes`);
    }
    if (res.headers['content-encoding']) throw new Error(`${LABEL[s.kind]} compressed ${size.file}`);
    if (size === SMALL) heads.push(...Object.keys(res.headers));
  }
  return heads;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Loads `url` in 1 s runs until two in a row agree within 5% (2 to 12 runs) and says how
 * many seconds that took. A server idle for a while on this VM can
 * take 10 s or more to reach its pace again (the replica went 14k, 24k, 40k … 50k req/s in
 * 2 s runs after a start), so a fixed 1–2 s warm-up measured part of the climb.
 */
async function warmUp(wrk: string, url: string): Promise<number> {
  let last = 0;
  for (let s = 1; s <= WARM_RUNS.most; s++) {
    const r = (await runWrk(wrk, url, CONNECTIONS, '1s')).reqPerSec;
    if (s >= WARM_RUNS.least && Math.abs(r - last) <= 0.05 * Math.max(r, last)) return s;
    last = r;
  }
  return WARM_RUNS.most;
}

// ---------------------------------------------------------------- the run

interface ServerResult {
  kind: Kind;
  sizes: Map<string, Load>;
  mixed: { small: Load; big: Load };
  rssKiB: number;
  peakKiB: number;
  problems: string[];
  headers: string[];
}

async function benchServer(s: Running, wrk: string, digests: Map<string, string>): Promise<ServerResult> {
  const headers = await checkServes(s, digests);
  const sizes = new Map<string, Load>();
  for (const size of SIZES) {
    const url = `${s.url}/${size.file}`;
    const warm = await warmUp(wrk, url);
    const [load] = await measureQuietly(s.pid, [() => runWrk(wrk, url, CONNECTIONS, duration)]);
    sizes.set(size.name, load!);
    process.stdout.write(
      `  ${size.name.padEnd(7)} ${load!.wrk.reqPerSec.toFixed(0).padStart(7)} req/s ` +
        `p99 ${fmtMs(load!.wrk.p99Ms)}, server CPU ${pct(load!.serverCpu)}, wrk ${pct(load!.wrkCpu)}, ` +
        `others ${pct(load!.otherCpu)}${load!.helperCpu > 0.02 ? `, master ${pct(load!.helperCpu)}` : ''}` +
        `${load!.wrk.errors ? `, ${load!.wrk.errors}` : ''}, warm after ${warm} s\n`,
    );
  }
  const small = `${s.url}/${SMALL.file}`;
  const big = `${s.url}/${BIG.file}`;
  // The bulk reader runs at nice 19, so that on the shared client core the 4 KiB wrk gets the
  // CPU whenever it has work: the 4 KiB latency then measures the server, not wrk's turn.
  await Promise.all([
    runWrk(wrk, big, MIXED_BIG_CONNECTIONS, warmup, { nice: true }),
    runWrk(wrk, small, CONNECTIONS, warmup),
  ]);
  const [bigLoad, smallLoad] = await measureQuietly(s.pid, [
    () => runWrk(wrk, big, MIXED_BIG_CONNECTIONS, duration, { nice: true }),
    () => runWrk(wrk, small, CONNECTIONS, duration),
  ]);
  process.stdout.write(
    `  mixed   4 KiB p99 ${fmtMs(smallLoad!.wrk.p99Ms)} (${smallLoad!.wrk.reqPerSec.toFixed(0)} req/s) ` +
      `with 4 MiB at ${bigLoad!.wrk.mibPerSec.toFixed(0)} MiB/s alongside\n`,
  );
  const tree = processTree(s.pid);
  return {
    kind: s.kind,
    sizes,
    mixed: { small: smallLoad!, big: bigLoad! },
    rssKiB: kib(tree, 'VmRSS'),
    peakKiB: kib(tree, 'VmHWM'),
    problems: [...s.problems],
    headers,
  };
}

function fmtMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 100 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(0)} ms`;
}
function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
function ratio(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

function report(results: ServerResult[]) {
  const byKind = new Map(results.map((r) => [r.kind, r]));
  const out: string[] = [];
  for (const size of SIZES) {
    const nginx = byKind.get('nginx')?.sizes.get(size.name);
    out.push(
      `\n### ${size.name} file (random bytes), ${CONNECTIONS} connections, ${duration}\n`,
      table(
        [
          'server',
          'req/s',
          'MiB/s',
          'p50',
          'p99',
          'ratio to nginx (req/s)',
          'server CPU',
          'CPU µs/req',
          'wrk CPU',
          'other CPU',
          'errors',
        ],
        results.map((r) => {
          const l = r.sizes.get(size.name)!;
          return [
            LABEL[r.kind],
            l.wrk.reqPerSec.toFixed(0),
            l.wrk.mibPerSec.toFixed(1),
            fmtMs(l.wrk.p50Ms),
            fmtMs(l.wrk.p99Ms),
            nginx ? ratio(l.wrk.reqPerSec / nginx.wrk.reqPerSec) : '—',
            pct(l.serverCpu),
            l.cpuUsPerRequest.toFixed(0),
            pct(l.wrkCpu),
            pct(l.otherCpu),
            l.wrk.errors || '—',
          ];
        }),
      ),
    );
  }
  out.push(
    `\n### Mixed: 4 KiB requests (${CONNECTIONS} connections) while 4 MiB files are read alongside ` +
      `(${MIXED_BIG_CONNECTIONS} connections), ${duration}\n`,
    table(
      [
        'server',
        '4 KiB p99',
        '4 KiB p50',
        '4 KiB req/s',
        '4 MiB MiB/s alongside',
        '4 KiB p99 alone',
        'server CPU',
        'wrk CPU',
        'other CPU',
        'errors',
      ],
      results.map((r) => {
        const { small, big } = r.mixed;
        return [
          LABEL[r.kind],
          fmtMs(small.wrk.p99Ms),
          fmtMs(small.wrk.p50Ms),
          small.wrk.reqPerSec.toFixed(0),
          big.wrk.mibPerSec.toFixed(1),
          fmtMs(r.sizes.get(SMALL.name)!.wrk.p99Ms),
          pct(small.serverCpu),
          pct(small.wrkCpu),
          pct(small.otherCpu),
          [small.wrk.errors, big.wrk.errors].filter(Boolean).join('; ') || '—',
        ];
      }),
    ),
    '\n### Memory after the run (resident set; all processes of the server)\n',
    table(
      ['server', 'RSS now', 'peak RSS'],
      results.map((r) => [
        LABEL[r.kind],
        `${(r.rssKiB / 1024).toFixed(0)} MiB`,
        `${(r.peakKiB / 1024).toFixed(0)} MiB`,
      ]),
    ),
  );
  const replica = byKind.get('replica');
  if (replica) {
    const rq = (k: Kind, size: string) => byKind.get(k)?.sizes.get(size)?.wrk.reqPerSec;
    const goal = (label: string, value: number | undefined, ok: (v: number) => boolean, shown: string) =>
      `- ${label}: ${value === undefined ? 'not measured' : `${shown} — ${ok(value) ? 'met' : 'NOT met'}`}`;
    const r4n = rq('replica', SMALL.name)! / rq('nginx', SMALL.name)!;
    const r4f = rq('replica', SMALL.name)! / rq('fastify', SMALL.name)!;
    const r100 = rq('replica', '100 KiB')! / rq('nginx', '100 KiB')!;
    const p99 = replica.mixed.small.wrk.p99Ms;
    out.push(
      '\n### Issue goals (replica)\n',
      goal('4 KiB ≥ 0.6× nginx', Number.isNaN(r4n) ? undefined : r4n, (v) => v >= 0.6, ratio(r4n)),
      goal('4 KiB ≥ 4× @fastify/static', Number.isNaN(r4f) ? undefined : r4f, (v) => v >= 4, ratio(r4f)),
      goal('100 KiB ≥ 0.7× nginx', Number.isNaN(r100) ? undefined : r100, (v) => v >= 0.7, ratio(r100)),
      goal('4 KiB p99 ≤ 5 ms with 4 MiB alongside', p99, (v) => v <= 5, fmtMs(p99)),
    );
  }
  for (const r of results) {
    if (r.problems.length > 0) {
      out.push(`\n${LABEL[r.kind]} logged ${r.problems.length} warnings/errors; the first:\n`);
      out.push(...r.problems.slice(0, 5).map((p) => `    ${p}`));
    }
  }
  const noisy = results.flatMap((r) =>
    [...r.sizes.entries(), ['mixed', r.mixed.small] as const]
      .filter(([, l]) => l.otherCpu > NOISY)
      .map(([name, l]) => `${LABEL[r.kind]} ${name} (${pct(l.otherCpu)})`),
  );
  if (noisy.length > 0) {
    out.push(
      `\nWARNING: other processes used over 10% of a core during: ${noisy.join(', ')}.`,
      'Those figures are skewed; rerun them on a quiet machine (e.g. --servers <kind>).',
    );
  }
  out.push('\nResponse headers of a 4 KiB answer:');
  for (const r of results) out.push(`- ${LABEL[r.kind]}: ${r.headers.join(', ')}`);
  console.log(out.join('\n'));
}

/** The commit measured, and whether the replica's code had uncommitted changes. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'apps/replica', 'packages');
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in apps/replica or packages' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main() {
  const tools = checkPrerequisites();
  // nginx -v prints on stderr.
  const nginxVersion = spawnSync(tools.nginx, ['-v'], { encoding: 'utf8' }).stderr.trim();
  const started = Date.now();
  // mkdtemp makes a 0700 folder; nginx's worker runs as nobody when started as root, so open it up.
  workDir = join(tmpdir(), `outpost-bench-serve-${process.pid}-${randomBytes(3).toString('hex')}`);
  const files = join(workDir, 'files');
  mkdirSync(files, { recursive: true });
  chmodSync(workDir, 0o755);
  const digests = new Map<string, string>();
  for (const size of SIZES) {
    const data = randomBytes(size.bytes);
    writeFileSync(join(files, size.file), data, { mode: 0o644 });
    digests.set(size.file, createHash('sha256').update(data).digest('hex'));
  }
  // Three sizes warmed up for a few seconds each, and the mixed run with its own warm-up.
  const perServer = 3 * (WARM_RUNS.least + 2 + durationSeconds) + parseDuration(warmup) + durationSeconds;
  const planned = kinds.length * (perServer + 5);
  console.log(
    `bench:serve — ${kinds.map((k) => LABEL[k]).join(', ')}${TLS ? ', all over HTTPS (TLS 1.3)' : ''}; servers on core ${SERVER_CORE}, wrk on core ` +
      `${CLIENT_CORE}; ${duration} per run (+${WARM_RUNS.least}–${WARM_RUNS.most} s warm-up, until two 1 s runs agree); about ${Math.ceil(planned / 60)} min.\n` +
      `node ${process.version}, ${nginxVersion || 'nginx'}, ${availableParallelism()} cores, load average ` +
      `${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(`code: ${codeVersion()}`);
  const idle = await otherCpuOver(1000);
  console.log(`before the start, other processes used ${pct(idle)} of a core`);
  if (idle > NOISY) console.log('WARNING: the machine is not quiet; expect skewed figures.');
  const results: ServerResult[] = [];
  for (const kind of kinds) {
    console.log(`\n${LABEL[kind]}:`);
    const s =
      kind === 'nginx'
        ? await startNginx(tools.nginx, workDir, files)
        : kind === 'replica' || kind === 'replica-node'
          ? await startOutpost(workDir, files, kind)
          : await startNodeServer(kind, files);
    try {
      results.push(await benchServer(s, tools.wrk, digests));
    } finally {
      await s.stop();
    }
  }
  report(results);
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
}

main()
  .catch((err) => {
    if (!interrupted) console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
