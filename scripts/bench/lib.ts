/**
 * What the comparative benchmarks share: starting the real outpost CLI and rsync daemons,
 * cleaning up on any exit, reading a process's memory from /proc, percentiles and tables.
 * Everything is measured from outside the processes, so the figures stay comparable when
 * Outpost's replication mechanics change underneath.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { freePort } from '../../test/helpers/free-port.js';
import { REPO_ROOT } from '../../test/helpers/services.js';

export const CLI = join(REPO_ROOT, 'apps/cli/src/main.ts');
export const CLI_DIST = join(REPO_ROOT, 'apps/cli/dist/bundle/outpost.js');

// --- cleanup, on success, failure, ^C or kill ---

const cleanups: (() => void | Promise<void>)[] = [];
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;

/** Registers a cleanup step; they run last-registered first. */
export function onCleanup(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // Best effort: the next step still runs.
      }
    }
    for (const c of children) c.kill('SIGKILL');
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    void cleanupAll().finally(() => process.exit(130));
  });
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Runs main, cleans up whatever happens, exits 1 on failure. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    async () => {
      await cleanupAll();
      process.exit(0);
    },
    async (err) => {
      console.error(err);
      await cleanupAll();
      process.exit(1);
    },
  );
}

/** A temp directory, removed on cleanup unless `keep`. */
export function tempDir(prefix: string, keep = false): string {
  const path = mkdtempSync(join(tmpdir(), prefix));
  if (!keep) onCleanup(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

/** Tracks a child so that it is killed on exit. */
export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// --- outpost processes ---

export interface Proc {
  readonly url: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  readonly logs: Record<string, unknown>[];
  /** performance.now() when it was spawned, and when its ready line came. */
  readonly spawnedAt: number;
  readonly readyAt: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Spawns `outpost <args>` through the real CLI (node + tsx, as `pnpm outpost` does) and waits
 * for the log line that says it listens. `taskset` pins it to the given CPU list.
 */
export async function startOutpost(
  args: string[],
  opts: { ready: string; env?: NodeJS.ProcessEnv; cpus?: string; timeoutMs?: number },
): Promise<Proc> {
  const spawnedAt = performance.now();
  // BENCH_CPU_PROF=DIR: every outpost process writes a V8 CPU profile there when it exits.
  const prof = process.env.BENCH_CPU_PROF;
  // BENCH_NODE_FLAGS='--max-old-space-size=512 …': extra node flags for every outpost process.
  const extra = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const nodeFlags = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...extra];
  // What `pnpm outpost` runs: node, tsx, the CLI's source; or, with BENCH_CLI=dist, the built
  // CLI (`pnpm build` first), as a deployment would run it; or BENCH_CLI=<a .js file>, another
  // build of it (apps/cli/dist/main.js: the CLI as tsc emits it, one module file per source).
  const built =
    process.env.BENCH_CLI === 'dist'
      ? CLI_DIST
      : process.env.BENCH_CLI?.endsWith('.js')
        ? process.env.BENCH_CLI
        : undefined;
  const cli = built ? [built] : ['--conditions=source', '--import', 'tsx', CLI];
  if (built && !existsSync(built)) throw new Error(`${built} missing: run pnpm build`);
  const proc = track(
    spawn(process.execPath, [...nodeFlags, ...cli, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, OUTPOST_LOG_LEVEL: 'info', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  if (opts.cpus) spawn('taskset', ['-a', '-p', '-c', opts.cpus, String(proc.pid)], { stdio: 'ignore' });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let gone = false;
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      gone = true;
      r();
    }),
  );
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  let resolveReady: (line: Record<string, unknown>) => void = () => {};
  const readyLine = new Promise<Record<string, unknown>>((r) => {
    resolveReady = r;
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = { msg: line };
    }
    rec.at = performance.now();
    logs.push(rec);
    if (rec.msg === opts.ready) resolveReady(rec);
  });
  const timeoutMs = opts.timeoutMs ?? 600_000;
  let timer: NodeJS.Timeout | undefined;
  const line = await Promise.race([
    readyLine,
    exited.then(() => {
      throw new Error(`outpost ${args[0]} exited before it was ready: ${stderr.slice(-2000)}`);
    }),
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`outpost ${args[0]} not ready in ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    url: String(line.url),
    pid: proc.pid!,
    proc,
    logs,
    spawnedAt,
    readyAt: line.at as number,
    async stop() {
      if (!gone) proc.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (!gone) proc.kill('SIGKILL');
      await exited;
    },
  };
}

export function masterArgs(content: string, data: string, port: number, extra: string[] = []): string[] {
  return [
    'master',
    '--content',
    content,
    '--data',
    data,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    ...extra,
  ];
}

export function replicaArgs(
  name: string,
  region: string,
  master: string,
  data: string,
  extra: string[] = [],
): string[] {
  return [
    'replica',
    '--name',
    name,
    '--region',
    region,
    '--master',
    master,
    '--data',
    data,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    ...extra,
  ];
}

// --- HTTP ---

export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await request(url, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export interface StatusLike {
  version: number;
  root: string;
  files?: number;
  state?: string;
}

export const status = (url: string) => getJson<StatusLike>(`${url}/_outpost/api/v1/status`);

/** Polls `check` every `intervalMs` until truthy; throws after the deadline. Returns its value. */
export async function until<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 120_000,
  intervalMs = 5,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Stops with a clear message when a tool the benchmark needs is not installed. */
export function requireCommands(...names: string[]): void {
  const missing = names.filter((n) => spawnSync('sh', ['-c', `command -v ${n}`]).status !== 0);
  if (missing.length > 0)
    throw new Error(
      `needs ${missing.join(', ')} (Debian: apt-get update && apt-get install -y ${missing.join(' ')})`,
    );
}

// --- rsync daemon ---

export interface RsyncDaemon {
  readonly port: number;
  readonly pid: number;
  /** rsync://127.0.0.1:<port>/<module>/ */
  url(module: string, port?: number): string;
  stop(): Promise<void>;
}

/** An rsync daemon on 127.0.0.1 serving each module (name → folder) writable, as the current user. */
export async function startRsyncDaemon(dir: string, modules: Record<string, string>): Promise<RsyncDaemon> {
  const port = await freePort();
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const conf = [
    'use chroot = no',
    `uid = ${uid}`,
    `gid = ${gid}`,
    `pid file = ${join(dir, `rsyncd-${port}.pid`)}`,
    `log file = ${join(dir, `rsyncd-${port}.log`)}`,
    ...Object.entries(modules).flatMap(([name, path]) => {
      mkdirSync(path, { recursive: true });
      return [`[${name}]`, `  path = ${path}`, '  read only = no'];
    }),
    '',
  ].join('\n');
  const cfg = join(dir, `rsyncd-${port}.conf`);
  writeFileSync(cfg, conf);
  const proc = track(
    spawn('rsync', ['--daemon', '--no-detach', `--config=${cfg}`, `--port=${port}`, '--address=127.0.0.1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    'the rsync daemon to listen',
    10_000,
    10,
  );
  const d: RsyncDaemon = {
    port,
    pid: proc.pid!,
    url: (module, via = port) => `rsync://127.0.0.1:${via}/${module}/`,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
  onCleanup(() => d.stop());
  return d;
}

/** Runs a command to completion: exit code, output, wall time in ms. */
export function run(
  cmd: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const proc = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => {
    stdout += d;
  });
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((r) =>
    proc.once('close', (code) => r({ code, stdout, stderr, ms: performance.now() - t0 })),
  );
}

// --- memory and CPU ---

/** CPU time (user + system) of a process in ms, from /proc (0 when gone). */
export function cpuMs(pid: number): number {
  return statMs(pid, 11, 12);
}

/** CPU time of a process's children that it has waited for (exited rsync runs, say), in ms. */
export function childrenCpuMs(pid: number): number {
  return statMs(pid, 13, 14);
}

/** The sum of two clock-tick fields of /proc/<pid>/stat (counted after the command name), in ms. */
function statMs(pid: number, a: number, b: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[a]) + Number(f[b])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Resident and peak-resident memory of a process in MiB (VmRSS, VmHWM), 0 when gone. */
export function memMiB(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * Waits until the processes together use under `share` of a core over 0.5 s, so that one
 * phase's tail is not the next one's load.
 */
export async function quiet(pids: number[], share = 0.15, what = 'the processes to go quiet'): Promise<void> {
  let last = pids.map(cpuMs);
  let t = performance.now();
  await until(
    async () => {
      await new Promise((r) => setTimeout(r, 500));
      const now = pids.map(cpuMs);
      const used = now.reduce((a, b, i) => a + b - last[i]!, 0);
      const span = performance.now() - t;
      last = now;
      t = performance.now();
      return used / span < share;
    },
    what,
    300_000,
    0,
  );
}

/**
 * Writes dirty pages out (`sync`): a timed pass then does not wait on the writeback of what
 * ran before it (copying the data set, the other system's pass). Without it, rsync's initial
 * pass took 1.5–6.7 s in one afternoon, by what the disk still had to write.
 */
export function flushDisk(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

/** Samples a process's VmRSS every `ms` and keeps the peak seen (VmHWM covers what falls between). */
export function rssSampler(pid: number, ms = 100): { peak: () => number; stop: () => void } {
  let peak = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, memMiB(pid).rss);
  }, ms);
  return {
    peak: () => Math.max(peak, memMiB(pid).hwm),
    stop: () => clearInterval(t),
  };
}

/** Samples a file's size every `ms` (a store's WAL, say) and keeps the largest seen; 0 while it is absent. */
export function fileSizeSampler(path: string, ms = 20): { peak: () => number; stop: () => void } {
  let peak = 0;
  const look = () => {
    try {
      peak = Math.max(peak, statSync(path).size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  };
  const t = setInterval(look, ms);
  return {
    peak: () => {
      look();
      return peak;
    },
    stop: () => clearInterval(t),
  };
}

// --- statistics and tables ---

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: number[]) => percentile(values, 50);

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return '—';
  if (b >= 1024 * 1024 * 10) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  if (b >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(2)} MiB`;
  if (b >= 10 * 1024) return `${(b / 1024).toFixed(0)} KiB`;
  return `${b} B`;
}

export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  const r = a / b;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** A markdown table, columns padded. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
