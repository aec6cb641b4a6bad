// `pnpm start`, as the README's "Try it" has a user run it: the demo comes up, what it prints
// is true (the URLs answer, the master's log names the replicas it speaks of), an edit of its
// index.html reaches both replicas with a new X-Outpost-Version, and Ctrl-C stops it all,
// with exit 0 and no error from pnpm.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { get, getJson } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'outpost-demo-'));
const demos: ChildProcess[] = [];
afterAll(() => {
  // Each demo and the services it started: a process group of their own.
  for (const demo of demos)
    try {
      if (demo.pid !== undefined) process.kill(-demo.pid, 'SIGKILL');
    } catch {
      // Gone already: the demo stopped them all.
    }
  rmSync(dir, { recursive: true, force: true });
});

function free(port: number, udp = false): Promise<boolean> {
  return new Promise((resolve) => {
    if (udp) {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A master port whose replica ports (+11, +12) and DNS port (+1983) are free too. */
async function demoPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    if (port + 1983 > 65_535) continue;
    const others = [free(port + 11), free(port + 12), free(port + 1983), free(port + 1983, true)];
    if ((await Promise.all(others)).every(Boolean)) return port;
  }
  throw new Error('no free ports for the demo');
}

/** `pnpm start` in a process group of its own (as a terminal's), once it says `until`. */
async function startDemo(port: number, until = 'Outpost demo is running.') {
  // No OUTPOST_* of the environment the tests run in (an admin token would close the API).
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, OUTPOST_DEMO_PORT: String(port) };
  // Through pnpm, as users start it: pnpm runs the script under `sh -c` and passes a SIGINT on.
  const proc = spawn('pnpm', ['start'], {
    cwd: ROOT,
    env: { ...env, OUTPOST_DEMO_DIR: dir },
    detached: true,
  });
  demos.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  // All of the output: 'exit' can come while the last lines are still in the pipe (and the
  // services, which write to the same stderr, may outlive pnpm by a moment).
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  await waitFor(() => out.includes(until), { timeoutMs: 45_000, what: 'the demo' });
  return { proc, out: () => out, exited, closed };
}

/** True once no process of the demo's group is left. */
function groupGone(proc: ChildProcess): boolean {
  try {
    process.kill(-proc.pid!, 0);
    return false;
  } catch {
    return true;
  }
}

describe('pnpm start (the demo)', () => {
  it('comes up, prints URLs that answer, names the replicas in its log, and carries an edit to both', async () => {
    const port = await demoPort();
    const demo = await startDemo(port);
    const { proc, exited } = demo;
    const plain = stripVTControlCharacters(demo.out());

    // Every URL it prints answers as it says.
    const master = `http://127.0.0.1:${port}`;
    const replicas = [`http://127.0.0.1:${port + 11}`, `http://127.0.0.1:${port + 12}`];
    expect(plain).toContain(`master       ${master}/_outpost/api/v1/status`);
    for (const r of replicas)
      expect(plain).toContain(`${r}/            (content)   ${r}/_outpost/api/v1/status`);
    expect(plain).toContain(`dig @127.0.0.1 -p ${port + 1983} uk.corp.example +short`);
    expect(plain).toContain(`Fleet status: pnpm outpost status --master ${master}`);
    expect((await getJson(`${master}/_outpost/api/v1/status`)).role).toBe('master');
    const names = await Promise.all(
      replicas.map(async (r) => (await getJson(`${r}/_outpost/api/v1/status`)).name),
    );
    expect(names).toEqual(['uk-london', 'asia-tokyo']);

    // The master's lines about a replica say which one (they used to drop its name).
    await waitFor(
      () =>
        /master +\S+ replica connected .*replica=uk-london/.test(stripVTControlCharacters(demo.out())) &&
        /master +\S+ replica connected .*replica=asia-tokyo/.test(stripVTControlCharacters(demo.out())),
      { what: 'the master to log both replicas by name' },
    );

    // Edit index.html: both replicas serve it, with a newer X-Outpost-Version.
    const before = await Promise.all(
      replicas.map(async (r) =>
        waitFor(async () => {
          const res = await get(`${r}/`);
          return res.status === 200 ? Number(res.headers['x-outpost-version']) : 0;
        }),
      ),
    );
    writeFileSync(join(dir, 'content', 'index.html'), '<h1>edited in the demo test</h1>\n');
    for (const [i, r] of replicas.entries())
      await waitFor(
        async () => {
          const res = await get(`${r}/`);
          return (
            res.body.toString().includes('edited in the demo test') &&
            Number(res.headers['x-outpost-version']) > before[i]!
          );
        },
        { what: `the edit at ${r}` },
      );

    // Ctrl-C (a SIGINT to the terminal's whole process group) stops everything, each service
    // by that one signal (a second one would cut its stop short); the demo exits 0, and so
    // pnpm, without its ELIFECYCLE error (the shell it ran the demo in died of the SIGINT).
    process.kill(-proc.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    await waitFor(() => groupGone(proc), { timeoutMs: 20_000, what: "the demo's services to stop" });
    await demo.closed;
    const stopping = stripVTControlCharacters(demo.out())
      .split('\n')
      .filter((l) => / stopping signal=/.test(l));
    expect(stopping).toHaveLength(3);
    for (const l of stopping) expect(l).toContain('signal=SIGINT');
    expect(demo.out()).not.toContain('ELIFECYCLE');
    expect(demo.out()).not.toMatch(/^demo: /m);
  });

  it('stops its services when its terminal closes (SIGHUP), where they ran on holding its ports', async () => {
    const port = await demoPort();
    const { proc } = await startDemo(port);
    // A closed terminal hangs up its whole process group. The services take SIGHUP as a
    // reload; the demo stops them, and then nothing of the group is left.
    process.kill(-proc.pid!, 'SIGHUP');
    await waitFor(() => groupGone(proc), { timeoutMs: 20_000, what: "the demo's services to stop" });
    expect(await free(port)).toBe(true);
  });

  it('stops cleanly on a Ctrl-C while it starts, as the replicas are being started', async () => {
    const port = await demoPort();
    const demo = await startDemo(port, 'outpost master listening');
    process.kill(-demo.proc.pid!, 'SIGINT');
    // It said `demo failed: uk-london exited … before it was ready` (exit 1, and pnpm's
    // ELIFECYCLE), or left the replicas it started after the Ctrl-C running.
    expect(await demo.exited, demo.out()).toBe(0);
    await waitFor(() => groupGone(demo.proc), { timeoutMs: 20_000, what: "the demo's services to stop" });
    await demo.closed;
    expect(demo.out()).not.toContain('demo failed');
  });
});
