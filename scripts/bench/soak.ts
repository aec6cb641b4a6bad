/**
 * Soak: many keep-alive readers on one replica while new versions land.
 *
 * A master and one replica on 127.0.0.1 (the real CLI). The content tree is 50 files of
 * 1 KiB … 1 MiB plus two of 4 MiB, each file's bytes derived from (path, generation), so any
 * body can be checked against the version its `X-Outpost-Version` names. N readers (one
 * keep-alive connection each) GET random files for the whole run, hash every body and check it
 * against the hash the master published for that path in that version. A writer rewrites a
 * random subset of files (and adds one, deletes the last one added) every duration/(versions+2)
 * seconds, and waits for each generation to be published. The replica's RSS is sampled every
 * second from /proc.
 *
 *   pnpm bench:soak [--duration 60] [--connections 1000] [--versions 10] [--warmup 5]
 *                   [--timeout-ms 30000] [--heartbeat-ms 5000] [--keep]
 *
 * Exits 1 on any error (5xx, reset, timeout, unexpected status), mixed body, version going
 * backwards, or a replica that does not converge; 2 on usage / environment problems.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Pool } from 'undici';
import { type Service, startMaster, startReplica, tempDir } from '../../test/helpers/services.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '1000' },
    versions: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    'timeout-ms': { type: 'string', default: '30000' },
    'heartbeat-ms': { type: 'string', default: '5000' },
    keep: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const connections = Number(values.connections);
const versionsWanted = Number(values.versions);
const warmupS = Number(values.warmup);
const timeoutMs = Number(values['timeout-ms']);
/** The CLI's default; the test helpers' 500 ms once dropped the push link under this load. */
const HEARTBEAT = ['--heartbeat-ms', String(values['heartbeat-ms'])];
for (const [name, v] of Object.entries({ duration: durationS, connections, versions: versionsWanted })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
}

const ADMIN_TOKEN = 'soak-admin-token';
const ENV = {
  OUTPOST_LOG_LEVEL: 'info',
  OUTPOST_TOKEN: 'soak-replication-token',
  OUTPOST_ADMIN_TOKEN: ADMIN_TOKEN,
};
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// --- environment ---------------------------------------------------------------------------

/** Each reader holds a socket in this process and one in the replica (which inherits the limit). */
function checkFdLimit(): void {
  let soft: number;
  let hard: string;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const m = /Max open files\s+(\S+)\s+(\S+)/.exec(line ?? '');
    if (!m) throw new Error('no "Max open files" line');
    soft = m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
    hard = m[2]!;
  } catch (err) {
    console.warn(`warning: cannot read the file descriptor limit (${(err as Error).message}); going on`);
    return;
  }
  const need = connections + 256;
  if (soft < need) {
    console.error(
      `error: the file descriptor limit is too low for --connections ${connections}: ` +
        `ulimit -n is ${soft}, need at least ${need} (one socket per reader here and one in the ` +
        `replica, plus files and SQLite). Raise it in this shell, e.g. \`ulimit -n ${Math.max(4096, need)}\` ` +
        `(hard limit: ${hard}), or lower --connections.`,
    );
    process.exit(2);
  }
}

// --- content: every file's bytes are a function of (path, generation) -----------------------

const MiB = 1024 * 1024;
const BASE_FILES: { path: string; size: number }[] = [];
{
  const exts = ['txt', 'html', 'json', 'bin', 'css', 'md'];
  const dirs = ['', 'docs/', 'templates/', 'packages/', 'policies/2026/'];
  for (let i = 0; i < 48; i++) {
    const size = Math.round(1024 * 1024 ** (i / 47)); // 1 KiB … 1 MiB, log-spaced
    BASE_FILES.push({
      path: `${dirs[i % dirs.length]}file-${String(i).padStart(2, '0')}.${exts[i % exts.length]}`,
      size,
    });
  }
  BASE_FILES.push(
    { path: 'packages/big-a.bin', size: 4 * MiB },
    { path: 'packages/big-b.bin', size: 4 * MiB },
  );
}
const addedPath = (gen: number) => `added/gen-${gen}.txt`;

/** A header naming (path, generation), then an AES-256-CTR keystream keyed by both. */
function contentOf(path: string, gen: number, size: number): Buffer {
  const head = Buffer.from(`outpost-soak path=${path} generation=${gen}\n`);
  const key = createHash('sha256').update(`${path}\0${gen}`).digest();
  const body = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
  head.copy(body, 0, 0, Math.min(head.length, size));
  return body;
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What we wrote: the tree of each generation, and which (path, generation) each hash is. */
const genTrees = new Map<number, Map<string, string>>();
const knownHashes = new Map<string, { path: string; gen: number }>();

// --- measurements ---------------------------------------------------------------------------

const latencies: number[] = [];
const errors = new Map<string, number>();
const errorSamples = new Map<string, string[]>();
const mixedSamples: string[] = [];
let mixed = 0;
let backwards = 0;
let ok200 = 0;
let ok404 = 0;
let bytesRead = 0;
let requests = 0;
const versionsSeen = new Map<number, number>();
const firstSeenAt = new Map<number, number>();
let maxCompletedVersion = 0;
let connects = 0;
let disconnects = 0;
const disconnectReasons = new Map<string, number>();

/** Errors per 10 s of the run. */
const errorTimeline: number[] = [];
let runStart = 0;

function fail(kind: string, detail: string): void {
  errors.set(kind, (errors.get(kind) ?? 0) + 1);
  const slot = Math.max(0, Math.floor((performance.now() - runStart) / 10_000));
  errorTimeline[slot] = (errorTimeline[slot] ?? 0) + 1;
  const s = errorSamples.get(kind) ?? [];
  if (s.length < 5) s.push(detail);
  errorSamples.set(kind, s);
}

function errorKind(err: any): string {
  const code = err?.code ?? err?.cause?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    case 'ECONNREFUSED':
      return 'refused';
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return 'truncated';
    default:
      return String(code ?? err?.name ?? 'error');
  }
}

// --- the master's view: which hash each path has in version n --------------------------------

let masterApi: Pool;
const versionEntries = new Map<number, Promise<Map<string, string>>>();
const versionSizes = new Map<number, Map<string, number>>();

async function masterJson<T>(path: string): Promise<T> {
  const res = await masterApi.request({ path, method: 'GET', headers: AUTH });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`master ${path} answered ${res.statusCode}`);
  }
  return (await res.body.json()) as T;
}

function entriesOf(version: number): Promise<Map<string, string>> {
  let p = versionEntries.get(version);
  if (!p) {
    p = masterJson<{ entries: { path: string; hash: string; size: number }[] }>(
      `/_outpost/api/v1/versions/${version}`,
    ).then((v) => {
      versionSizes.set(version, new Map(v.entries.map((e) => [e.path, e.size])));
      return new Map(v.entries.map((e) => [e.path, e.hash]));
    });
    p.catch(() => versionEntries.delete(version));
    versionEntries.set(version, p);
  }
  return p;
}

const masterVersion = async () => (await masterJson<{ version: number }>('/_outpost/api/v1/status')).version;

/** The generation whose tree is exactly version n's, or undefined (an intermediate version). */
async function generationOf(version: number): Promise<number | undefined> {
  const entries = await entriesOf(version);
  for (const [gen, tree] of genTrees) {
    if (tree.size === entries.size && [...tree].every(([p, h]) => entries.get(p) === h)) return gen;
  }
  return undefined;
}

// --- writer ---------------------------------------------------------------------------------

interface Published {
  version: number;
  gen: number | undefined;
  at: number;
}
const published: Published[] = [];
let lastMasterVersion = 0;

function writeGeneration(content: string, staging: string, gen: number, paths: string[]): void {
  const prev = genTrees.get(gen - 1);
  const tree = new Map(prev ?? []);
  const moves: [string, string][] = [];
  const put = (path: string, size: number) => {
    const data = contentOf(path, gen, size);
    const hash = sha256(data);
    tree.set(path, hash);
    knownHashes.set(hash, { path, gen });
    const tmp = join(staging, path.replaceAll('/', '__'));
    writeFileSync(tmp, data);
    // Finished files moved into place, as a careful publisher does: old enough to be settled.
    const past = new Date(Date.now() - 10_000);
    utimesSync(tmp, past, past);
    moves.push([tmp, join(content, path)]);
  };
  for (const path of paths) put(path, BASE_FILES.find((f) => f.path === path)!.size);
  if (gen > 0) put(addedPath(gen), 2048 + gen);
  genTrees.set(gen, tree);
  // Files are written beside the tree and renamed in together, so each generation is one burst.
  for (const [from, to] of moves) {
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
  }
  if (gen > 1) {
    unlinkSync(join(content, addedPath(gen - 1)));
    tree.delete(addedPath(gen - 1));
  }
}

/** Polls the master until a version whose tree is generation `gen` is published. */
async function awaitPublished(gen: number, t0: number, deadlineMs = 30_000): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  while (performance.now() < deadline) {
    const v = await masterVersion();
    for (let n = lastMasterVersion + 1; n <= v; n++) {
      const g = await generationOf(n);
      published.push({ version: n, gen: g, at: performance.now() - t0 });
      lastMasterVersion = n;
      if (g === gen) return true;
    }
    await sleep(20);
  }
  return false;
}

// --- readers: one keep-alive connection (an undici Client) each ------------------------------

let stopping = false;
const readerPaths: string[] = BASE_FILES.map((f) => f.path);
const slowest: { ms: number; what: string }[] = [];

/** One reader and its connection's history, so an error can be told apart from its causes. */
interface Reader {
  client: Client;
  /** Requests sent on the current connection. */
  onConn: number;
  prev: { path: string; size: number; ms: number; endedAt: number } | undefined;
}

function newReader(url: string): Reader {
  const client = new Client(url, {
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });
  const r: Reader = { client, onConn: 0, prev: undefined };
  client.on('connect', () => {
    connects++;
    r.onConn = 0;
  });
  client.on('disconnect', (_origin, _targets, err) => {
    disconnects++;
    const k = String((err as any)?.code ?? err?.message ?? 'closed');
    disconnectReasons.set(k, (disconnectReasons.get(k) ?? 0) + 1);
  });
  return r;
}

async function readOnce(r: Reader, t0: number): Promise<void> {
  const path = readerPaths[Math.floor(Math.random() * readerPaths.length)]!;
  const floor = maxCompletedVersion;
  const started = performance.now();
  const where = () => {
    const p = r.prev;
    const history = p
      ? `previous on this connection: /${p.path} ${p.size} B in ${p.ms.toFixed(0)} ms, ended ${(started - p.endedAt).toFixed(0)} ms before this request`
      : 'first request of this reader';
    return `t=${((started - t0) / 1000).toFixed(1)} s, request ${r.onConn + 1} on this connection, ${history}`;
  };
  requests++;
  let status: number;
  let header: string | string[] | undefined;
  const hash = createHash('sha256');
  let size = 0;
  let answered = false;
  try {
    const res = await r.client.request({ path: `/${path}`, method: 'GET' });
    answered = true;
    r.onConn++;
    status = res.statusCode;
    header = res.headers['x-outpost-version'];
    for await (const chunk of res.body) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (err) {
    let kind = errorKind(err);
    // The server closed a kept-alive connection as the next request went out on it.
    if (kind === 'reset' && !answered && r.onConn > 0) kind = 'reset-on-reuse';
    fail(
      kind,
      `GET /${path} (${answered ? `answered, ${size} B of body` : 'no answer'}): ${(err as Error).message} [${where()}]`,
    );
    r.prev = undefined;
    if (kind === 'refused') await sleep(50);
    return;
  }
  const done = performance.now();
  const ms = done - started;
  latencies.push(ms);
  if (slowest.length < 5 || ms > slowest.at(-1)!.ms) {
    slowest.push({ ms, what: `GET /${path} ${size} B: ${ms.toFixed(0)} ms [${where()}]` });
    slowest.sort((a, b) => b.ms - a.ms);
    slowest.length = Math.min(slowest.length, 5);
  }
  r.prev = { path, size, ms, endedAt: done };
  bytesRead += size;
  if (status >= 500) return fail('5xx', `GET /${path}: ${status} [${where()}]`);
  const version = Number(header);
  if (typeof header !== 'string' || !Number.isInteger(version)) {
    return fail('no-version-header', `GET /${path}: ${status}, X-Outpost-Version ${JSON.stringify(header)}`);
  }
  versionsSeen.set(version, (versionsSeen.get(version) ?? 0) + 1);
  if (!firstSeenAt.has(version)) firstSeenAt.set(version, Date.now());
  if (version < floor) {
    backwards++;
    fail('backwards', `GET /${path}: version ${version} after a response of version ${floor} had completed`);
  }
  if (version > maxCompletedVersion) maxCompletedVersion = version;
  if (status !== 200 && status !== 404) return fail(`http-${status}`, `GET /${path}: ${status} [${where()}]`);
  let expected: Map<string, string>;
  try {
    expected = await entriesOf(version);
  } catch (err) {
    return fail('check-failed', `version ${version}: ${(err as Error).message}`);
  }
  const want = expected.get(path);
  if (status === 404) {
    ok404++;
    if (want === undefined) return;
    mixed++;
    if (mixedSamples.length < 10) mixedSamples.push(`GET /${path}: 404 but version ${version} has it`);
    return;
  }
  ok200++;
  const got = hash.digest('hex');
  if (got === want) return;
  mixed++;
  if (mixedSamples.length < 10) {
    const is = knownHashes.get(got);
    mixedSamples.push(
      `GET /${path}: X-Outpost-Version ${version}, ${size} bytes sha256 ${got.slice(0, 12)} ` +
        `(${is ? `= ${is.path} of generation ${is.gen}` : 'no content we wrote'}), ` +
        `version ${version} has ${want ? want.slice(0, 12) : 'no such path'}`,
    );
  }
}

// --- memory ---------------------------------------------------------------------------------

interface Sample {
  t: number;
  replicaKb: number;
  masterKb: number;
}
function rssKb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

// --- summary helpers ------------------------------------------------------------------------

const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : Number.NaN;
const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, x]) => x.length));
  const line = (a: string, b: string) => `| ${a.padEnd(w)} | ${b.padEnd(v)} |`;
  return [
    line('metric', 'value'),
    `|${'-'.repeat(w + 2)}|${'-'.repeat(v + 2)}|`,
    ...rows.map(([a, b]) => line(a, b)),
  ].join('\n');
}

// --- main -----------------------------------------------------------------------------------

async function main(): Promise<number> {
  checkFdLimit();
  const dir = tempDir('outpost-bench-soak-');
  const content = join(dir.path, 'content');
  const staging = join(dir.path, 'staging');
  mkdirSync(content, { recursive: true });
  mkdirSync(staging, { recursive: true });
  writeGeneration(
    content,
    staging,
    0,
    BASE_FILES.map((f) => f.path),
  );
  const totalBytes = BASE_FILES.reduce((a, f) => a + f.size, 0);
  console.log(
    `content: ${BASE_FILES.length} files, ${(totalBytes / MiB).toFixed(1)} MiB (1 KiB … 1 MiB, 2 × 4 MiB); ` +
      `${connections} readers for ${durationS} s; ${versionsWanted} versions`,
  );

  let master: Service | undefined;
  let replica: Service | undefined;
  let readers: Reader[] = [];
  try {
    master = await startMaster({ content, data: join(dir.path, 'master'), env: ENV, args: HEARTBEAT });
    masterApi = new Pool(master.url, { connections: 4 });
    const t00 = performance.now();
    if (!(await awaitPublished(0, t00))) throw new Error('the master never published generation 0');
    const v0 = lastMasterVersion;
    replica = await startReplica({
      name: 'soak',
      region: 'local',
      master: master.url,
      data: join(dir.path, 'replica'),
      env: ENV,
      args: HEARTBEAT,
    });
    const replicaUrl = replica.url;
    const replicaApi = new Pool(replicaUrl, { connections: 2 });
    const replicaVersion = async () => {
      const res = await replicaApi.request({ path: '/_outpost/api/v1/status', method: 'GET', headers: AUTH });
      const body = (await res.body.json()) as { version: number; state: string };
      return body;
    };
    for (const deadline = performance.now() + 30_000; ; await sleep(50)) {
      if ((await replicaVersion()).version >= v0) break;
      if (performance.now() > deadline) throw new Error(`the replica never reached version ${v0}`);
    }
    console.log(
      `master ${master.url} (pid ${master.proc.pid}), replica ${replicaUrl} (pid ${replica.proc.pid}), version ${v0}`,
    );

    const replicaPid = replica.proc.pid;
    const masterPid = master.proc.pid;
    const idleKb = rssKb(replicaPid);
    readers = Array.from({ length: connections }, () => newReader(replicaUrl));

    const t0 = performance.now();
    runStart = t0;
    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      samples.push({
        t: (performance.now() - t0) / 1000,
        replicaKb: rssKb(replicaPid),
        masterKb: rssKb(masterPid),
      });
    }, 1000);

    const reading = readers.map(async (r) => {
      while (!stopping) await readOnce(r, t0);
    });

    const intervalMs = (durationS * 1000) / (versionsWanted + 2);
    let writerFailed = '';
    const writer = (async () => {
      for (let gen = 1; gen <= versionsWanted; gen++) {
        const wait = t0 + gen * intervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        if (stopping) {
          writerFailed = `the run ended before generation ${gen} was written`;
          return;
        }
        const base = BASE_FILES.map((f) => f.path);
        for (let i = base.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          [base[i], base[j]] = [base[j]!, base[i]!];
        }
        const pick = base.slice(0, 5 + Math.floor(Math.random() * 8));
        writeGeneration(content, staging, gen, pick);
        readerPaths.push(addedPath(gen));
        if (!(await awaitPublished(gen, t0))) {
          writerFailed = `generation ${gen} was not published within 30 s`;
          return;
        }
      }
    })();

    const progress = setInterval(() => {
      const t = (performance.now() - t0) / 1000;
      const errs = [...errors.values()].reduce((a, b) => a + b, 0);
      console.log(
        `t=${t.toFixed(0).padStart(3)} s  requests ${requests}  errors ${errs}  mixed ${mixed}  ` +
          `version ${maxCompletedVersion}  replica RSS ${mb(samples.at(-1)?.replicaKb ?? Number.NaN)}`,
      );
    }, 5000);

    await sleep(durationS * 1000);
    stopping = true;
    const stoppedAt = performance.now();
    await Promise.all(reading);
    const elapsedS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    clearInterval(progress);
    await writer;

    // Convergence: the replica ends on the master's latest version.
    const finalMaster = await masterVersion();
    let finalReplica = await replicaVersion();
    for (
      const deadline = performance.now() + 10_000;
      finalReplica.version !== finalMaster;
      await sleep(100)
    ) {
      if (performance.now() > deadline) break;
      finalReplica = await replicaVersion();
    }
    await replicaApi.close();

    // --- report ---
    const sorted = [...latencies].sort((a, b) => a - b);
    const totalErrors = [...errors.values()].reduce((a, b) => a + b, 0);
    const during = published.filter((p) => p.version > v0);
    const intermediate = during.filter((p) => p.gen === undefined);
    // From the master's createdAt to the end of the first response naming that version or a later one.
    const createdAt = new Map(
      (await masterJson<{ version: number; createdAt: string }[]>('/_outpost/api/v1/versions')).map((v) => [
        v.version,
        Date.parse(v.createdAt),
      ]),
    );
    const lagOf = (version: number) => {
      const seen = [...firstSeenAt].filter(([v]) => v >= version).map(([, t]) => t);
      return seen.length ? Math.min(...seen) - createdAt.get(version)! : Number.NaN;
    };
    const lags = during
      .map((p) => lagOf(p.version))
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    /** Bytes of the files version n added or changed. */
    const changedBytes = async (n: number) => {
      const [now, before] = [await entriesOf(n), await entriesOf(n - 1)];
      let bytes = 0;
      for (const [path, hash] of now)
        if (before.get(path) !== hash) bytes += versionSizes.get(n)?.get(path) ?? 0;
      return bytes;
    };
    const perVersion: string[] = [];
    for (const p of during) {
      const b = await changedBytes(p.version);
      const size = b >= MiB ? `${(b / MiB).toFixed(1)} MiB` : `${Math.ceil(b / 1024)} KiB`;
      perVersion.push(`v${p.version} ${lagOf(p.version).toFixed(0)} ms (${size})`);
    }
    const rs = samples.filter((s) => Number.isFinite(s.replicaKb));
    const kbs = rs.map((s) => s.replicaKb);
    const firstWin = rs.filter((s) => s.t >= warmupS && s.t < warmupS + 10).map((s) => s.replicaKb);
    const lastWin = rs.filter((s) => s.t > durationS - 10).map((s) => s.replicaKb);
    const firstAvg = avg(firstWin);
    const lastAvg = avg(lastWin);
    const flat = lastAvg <= 1.2 * firstAvg;
    const seen = [...versionsSeen.keys()].sort((a, b) => a - b);
    const errText = totalErrors
      ? [...errors]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')
      : '0';
    const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

    console.log(
      `\nsoak: ${connections} keep-alive readers on one replica, ${durationS} s, ${versionsWanted} versions\n`,
    );
    console.log(
      table([
        ['requests', `${requests} (${ok200} × 200, ${ok404} × 404)`],
        ['req/s', (requests / ((stoppedAt - t0) / 1000)).toFixed(0)],
        [
          'bytes read',
          `${(bytesRead / MiB / 1024).toFixed(2)} GiB (${(bytesRead / MiB / elapsedS).toFixed(0)} MiB/s)`,
        ],
        ['errors', errText],
        ['mixed bodies', String(mixed)],
        ['version went backwards', String(backwards)],
        [
          'versions published',
          `${during.length} (${intermediate.length} intermediate), v${v0 + 1}…v${finalMaster}`,
        ],
        ['versions seen by readers', `${seen.length}: ${seen.join(' ')}`],
        [
          'published → first response naming it',
          `p50 ${fmt(pct(lags, 50))}, max ${fmt(lags.at(-1) ?? Number.NaN)}`,
        ],
        ['replica at end', `v${finalReplica.version} ${finalReplica.state} (master v${finalMaster})`],
        [
          'latency p50 / p99 / max',
          `${fmt(pct(sorted, 50))} / ${fmt(pct(sorted, 99))} / ${fmt(sorted.at(-1) ?? Number.NaN)}`,
        ],
        ['connections opened / closed', `${connects} / ${disconnects}`],
        ['replica RSS idle before load', mb(idleKb)],
        ['replica RSS min / max', `${mb(Math.min(...kbs))} / ${mb(Math.max(...kbs))}`],
        [
          `replica RSS avg ${warmupS}–${warmupS + 10} s / last 10 s`,
          `${mb(firstAvg)} / ${mb(lastAvg)} (×${(lastAvg / firstAvg).toFixed(2)}: ${flat ? 'flat' : 'GROWING'})`,
        ],
        ['master RSS at end', mb(samples.at(-1)?.masterKb ?? Number.NaN)],
      ]),
    );
    console.log(
      `\nreplica RSS every 5 s (MiB): ${rs
        .filter((_, i) => i % 5 === 4)
        .map((s) => (s.replicaKb / 1024).toFixed(0))
        .join(' ')}`,
    );
    console.log(
      `published → first response naming it, per version (bytes changed): ${perVersion.join(', ')}`,
    );
    if (disconnectReasons.size)
      console.log(`disconnect reasons: ${[...disconnectReasons].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    if (totalErrors)
      console.log(
        `errors per 10 s: ${Array.from(errorTimeline, (n, i) => `${i * 10}–${i * 10 + 10} s: ${n ?? 0}`).join(', ')}`,
      );
    for (const [k, s] of errorSamples) console.log(`error ${k}, e.g.:\n  ${s.join('\n  ')}`);
    if (mixedSamples.length) console.log(`mixed, e.g.:\n  ${mixedSamples.join('\n  ')}`);
    if (intermediate.length)
      console.log(
        `intermediate versions (tree matches no generation written): ${intermediate.map((p) => p.version).join(' ')}`,
      );
    if (writerFailed) console.log(`writer: ${writerFailed}`);
    console.log(`slowest requests:\n  ${slowest.map((x) => x.what).join('\n  ')}`);
    for (const [name, svc] of [
      ['replica', replica],
      ['master', master],
    ] as const) {
      const problems = svc.logs.filter((l) => typeof l.level === 'number' && l.level >= 40);
      if (!problems.length) continue;
      console.log(`${name} logged ${problems.length} warnings/errors, e.g.:`);
      for (const l of problems.slice(0, 5)) console.log(`  ${JSON.stringify(l).slice(0, 400)}`);
    }

    const failed =
      totalErrors > 0 ||
      mixed > 0 ||
      finalReplica.version !== finalMaster ||
      during.length - intermediate.length < versionsWanted ||
      writerFailed !== '';
    console.log(failed ? '\nFAIL' : '\nOK: 0 errors, 0 mixed bodies');
    return failed ? 1 : 0;
  } finally {
    stopping = true;
    await Promise.all(readers.map((r) => r.client.destroy()));
    await masterApi?.close();
    await replica?.stop();
    await master?.stop();
    if (values.keep) console.log(`kept ${dir.path}`);
    else dir.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
