import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(REPO_ROOT, 'apps/cli/src/main.ts');
/**
 * The built CLI, when global-setup.ts has emitted it fresh for the end-to-end tests (it names
 * it here); benchmarks that start services with these helpers run the sources through tsx.
 */
const BUILT_CLI = process.env.OUTPOST_TEST_CLI;

/** A running outpost process started through the real CLI. */
export interface Service {
  readonly url: string;
  readonly proc: ChildProcess;
  readonly logs: Record<string, unknown>[];
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<void>;
  /** kill -9, and waits for the exit. */
  kill(): Promise<void>;
}

/** Runs the outpost CLI with arguments; the same command a user types. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const argv = BUILT_CLI ? [BUILT_CLI, ...args] : ['--conditions=source', '--import', 'tsx', CLI, ...args];
  return spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, OUTPOST_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a CLI command to completion and returns its exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => {
    stdout += d;
  });
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  return { code, stdout, stderr };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

async function startService(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<Service> {
  const proc = spawnCli(args, env);
  live.add(proc);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  // 'close', not 'exit': 'exit' can come while the last lines are still in the pipe, and a
  // test that reads `logs` after stop() or kill() would then miss what the process said last.
  const exited = new Promise<void>((r) => proc.once('close', () => r()));
  proc.once('exit', () => live.delete(proc));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ msg: line });
    }
  });
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const line = await waitFor(
    () => {
      if (gone) throw new Error(`process exited before it was ready: ${stderr.slice(-2000)}`);
      return logs.find((l) => l.msg === ready);
    },
    { timeoutMs: 30_000, what: ready },
  );
  const wait = () => exited;
  return {
    url: String(line.url),
    proc,
    logs,
    async stop() {
      if (!gone) proc.kill('SIGTERM');
      await wait();
    },
    async kill() {
      if (!gone) proc.kill('SIGKILL');
      await wait();
    },
  };
}

export interface MasterOptions {
  content: string;
  data: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  args?: string[];
  /** The log line to wait for (default: listening with the content directory published). */
  readyLine?: string;
}

/** Starts a master on 127.0.0.1 (on a free port unless one is given). */
export async function startMaster(o: MasterOptions): Promise<Service> {
  // Not port 0: a test restarting the master needs its port again, and one of the kernel's
  // choosing is in the range outgoing connections take theirs from (see freePort).
  const port = o.port ?? (await freePort());
  const args = [
    'master',
    '--content',
    o.content,
    '--data',
    o.data,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
  ];
  return startService(
    [...args, '--heartbeat-ms', '500', ...(o.args ?? [])],
    o.env ?? {},
    o.readyLine ?? 'outpost master listening',
  );
}

export interface ReplicaOptions {
  name: string;
  region: string;
  master: string;
  data: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  args?: string[];
}

/** Starts a replica on 127.0.0.1, with short heartbeats and polls so tests run fast. */
export async function startReplica(o: ReplicaOptions): Promise<Service> {
  const args = ['replica', '--name', o.name, '--region', o.region, '--master', o.master, '--data', o.data];
  args.push(
    '--host',
    '127.0.0.1',
    '--port',
    String(o.port ?? 0),
    '--heartbeat-ms',
    '500',
    '--poll-ms',
    '200',
  );
  return startService([...args, ...(o.args ?? [])], o.env ?? {}, 'outpost replica listening');
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'outpost-e2e-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
