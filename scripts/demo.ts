/**
 * `pnpm start`: a master and two replicas (uk-london, asia-tokyo) on 127.0.0.1 with sample
 * content in .demo/content. Edit a file there and watch it reach both replicas. Ctrl-C stops all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');
// Where the demo keeps its content and stores (tests give it a temp dir).
const DEMO = process.env.OUTPOST_DEMO_DIR ? resolve(process.env.OUTPOST_DEMO_DIR) : join(ROOT, '.demo');
const CONTENT = join(DEMO, 'content');
const CLI = join(ROOT, 'apps/cli/src/main.ts');
const MASTER_PORT = Number(process.env.OUTPOST_DEMO_PORT ?? 7070);
const DNS_PORT = MASTER_PORT + 1983; // 9053 beside the default 7070
const REPLICAS = [
  { name: 'uk-london', region: 'uk', port: MASTER_PORT + 11 },
  { name: 'asia-tokyo', region: 'asia', port: MASTER_PORT + 12 },
];

const colours = { master: 35, 'uk-london': 36, 'asia-tokyo': 33 } as Record<string, number>;
const children: { label: string; child: ChildProcess }[] = [];
/** The services that said they are stopping: a Ctrl-C at the terminal reached them too. */
const stoppingOnTheirOwn = new Set<ChildProcess>();

/** A service that ended before it was ready, and the signal that ended it, if one did. */
class ServiceEnded extends Error {
  constructor(
    message: string,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
  }
}

function run(label: string, args: string[]): Promise<string> {
  // Ctrl-C while the demo starts: nothing more is started (it would run on, never told to stop).
  if (stoppingSince > 0) return Promise.reject(new Error('stopping'));
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OUTPOST_LOG_LEVEL: process.env.OUTPOST_LOG_LEVEL ?? 'info' },
  });
  children.push({ label, child });
  return new Promise((resolveUrl, reject) => {
    child.once('exit', (code, signal) =>
      reject(new ServiceEnded(`${label} exited with ${code ?? signal} before it was ready`, signal)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        console.log(`[${label}] ${line}`);
        return;
      }
      const { level, time, service, msg, pid, hostname, ...rest } = entry;
      if (msg === 'stopping') stoppingOnTheirOwn.add(child);
      const extras = Object.entries(rest)
        // A replica names itself in every line, as its label does; the master's lines name
        // the replica they are about (`replica connected replica=uk-london`), and keep it.
        .filter(([k, v]) => k !== 'root' && !(k === 'replica' && v === label))
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
        .join(' ');
      const c = colours[label] ?? 37;
      console.log(`\x1b[${c}m${label.padEnd(10)}\x1b[0m ${String(time).slice(11, 23)} ${msg} ${extras}`);
      if (typeof msg === 'string' && /^outpost \w+ listening$/.test(msg)) resolveUrl(String(entry.url));
    });
  });
}

async function main() {
  if (!existsSync(CONTENT)) {
    mkdirSync(DEMO, { recursive: true });
    cpSync(join(ROOT, 'scripts/demo-content'), CONTENT, { recursive: true });
  }
  const master = await run('master', [
    'master',
    '--content',
    CONTENT,
    '--data',
    join(DEMO, 'master'),
    '--port',
    String(MASTER_PORT),
    // DNS for the demo's zone (not 5353: desktop mDNS daemons often hold that port).
    '--zone',
    'corp.example',
    '--dns-port',
    String(DNS_PORT),
    '--dns-fallback',
    'uk:asia;asia:uk',
  ]);
  const urls = await Promise.all(
    REPLICAS.map((r) =>
      run(r.name, [
        'replica',
        '--name',
        r.name,
        '--region',
        r.region,
        '--master',
        master,
        '--data',
        join(DEMO, r.name),
        '--port',
        String(r.port),
      ]),
    ),
  );
  console.log(`
  Outpost demo is running.

    master       ${master}/_outpost/api/v1/status
    uk-london    ${urls[0]}/            (content)   ${urls[0]}/_outpost/api/v1/status
    asia-tokyo   ${urls[1]}/            (content)   ${urls[1]}/_outpost/api/v1/status

  Edit ${relative(process.cwd(), join(CONTENT, 'index.html'))} (or add any file under ${relative(process.cwd(), CONTENT)}) and reload a replica:
  the change reaches both within a moment. Fleet status: pnpm outpost status --master ${master}
  DNS: dig @127.0.0.1 -p ${DNS_PORT} uk.corp.example +short   (or asia.corp.example, corp.example)
  Ctrl-C stops everything.
`);
}

/**
 * Ctrl-C: the services stop, then the demo exits 0, so that `pnpm start` ends without an
 * ELIFECYCLE error. The terminal sends SIGINT to its whole process group, the services
 * included; pnpm passes it on to the demo as well, so it comes twice within milliseconds, and
 * a service sent a second signal exits at once (130) without stopping cleanly. So a repeat
 * within a second is the same Ctrl-C, and a service is sent SIGTERM only when it has not said
 * within 1.5 s that it is stopping (the demo alone was signalled: `kill`, a closed pnpm). Half
 * a second was too short on a busy machine: a service whose start held its event loop took the
 * terminal's SIGINT late, after the demo's SIGTERM, and exited 130. A SIGHUP (the terminal
 * closed) is a reload to the services, so they are sent SIGTERM at once. A Ctrl-C later than a
 * second exits at once.
 */
let stoppingSince = 0;
function stopAll(signal: NodeJS.Signals) {
  if (stoppingSince > 0) {
    if (Date.now() - stoppingSince < 1000) return;
    process.exit(130);
  }
  stoppingSince = Date.now();
  const running = children.filter(({ child }) => child.exitCode === null && child.signalCode === null);
  setTimeout(
    () => {
      for (const { child } of running) if (!stoppingOnTheirOwn.has(child)) child.kill('SIGTERM');
    },
    signal === 'SIGHUP' ? 0 : 1500,
  );
  Promise.all(
    running.map(
      ({ label, child }) =>
        new Promise<string | null>((r) =>
          child.once('exit', (code, signal) =>
            // Ended by the terminal's signal itself: one that came before the service had its
            // handler (Ctrl-C as it starts), when it had nothing open yet.
            r(
              code === 0 || signal === 'SIGINT' || signal === 'SIGTERM'
                ? null
                : `${label} exited with ${code ?? signal} as it stopped`,
            ),
          ),
        ),
    ),
  ).then((problems) => {
    const said = problems.filter((p) => p !== null);
    for (const p of said) console.error(`demo: ${p}`);
    process.exit(said.length === 0 ? 0 : 1);
  });
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
// The terminal closed: the services take SIGHUP as a reload and would run on, orphans holding
// the demo's ports, so that the next `pnpm start` could not listen. They are stopped as for a
// kill; what is said meanwhile has no terminal left to go to.
process.on('SIGHUP', stopAll);
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

main().catch((err) => {
  // Stopped while it started (a service ended by the Ctrl-C before it was ready): stopAll exits.
  if (stoppingSince > 0) return;
  // A service just spawned, ended by the terminal's signal before it had a handler: its exit
  // can reach the demo before the demo's own copy of the signal does (it did in about one run
  // in four of a Ctrl-C as the replicas were spawned), and it is the same Ctrl-C.
  if (
    err instanceof ServiceEnded &&
    err.signal !== null &&
    ['SIGINT', 'SIGTERM', 'SIGHUP'].includes(err.signal)
  ) {
    stopAll(err.signal);
    return;
  }
  console.error(`demo failed: ${(err as Error).message}`);
  for (const { child } of children) child.kill('SIGTERM');
  process.exit(1);
});
