import { readFileSync } from 'node:fs';
import { chunkBuffer, merkleRoot, sha256Hex } from '@outpost/core';
import {
  type Manifest,
  MasterMessageSchema,
  ReplicaMessageSchema,
  SUPPORTED_PROTOCOLS,
} from '@outpost/protocol';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeLink, type FakeMaster, startFakeMaster } from './helpers/fake-master.js';
import { Fleet } from './helpers/fleet.js';
import { get, getJson } from './helpers/http.js';
import {
  epochMsArb,
  type Frame,
  goodPathArb,
  jsonFrame,
  labelArb,
  mutationsOf,
  sha256Arb,
  TRICKY_PATHS,
  versionArb,
  weirdValueArb,
} from './helpers/protocol-arbitraries.js';
import { RawConnection } from './helpers/raw-http.js';
import { type Service, startReplica, tempDir } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Fuzzes the replication protocol from both ends with fast-check: a live master gets tens of
 * thousands of well-formed and mutated replica messages (and random pull-API requests), a
 * live replica gets well-formed and mutated master messages from a fake master. Neither may
 * crash, stop serving, or change state on anything but a valid message; every bad message
 * gets a close code. An oracle built on the protocol's own zod schemas predicts, message by
 * message, what each side must answer. Reproduce a run with FUZZ_SEED=<seed>.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
/** Total messages both parts must send between them. */
const TARGET_MESSAGES = 100_000;
const MASTER_TARGET = 90_000;
const REPLICA_TARGET = TARGET_MESSAGES - MASTER_TARGET;
/**
 * The tests read warnings and errors only. At debug level a fuzzed service wrote a line or more
 * per message to its stdout pipe, which blocks while the busy test process does not drain it:
 * the replica spent 7 s of a 50 s run there.
 */
const QUIETER = { OUTPOST_LOG_LEVEL: 'info' };

const count = (m: Map<string | number, number>, k: string | number, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const fmt = (m: Map<string | number, number>) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');

const summary = {
  master: {
    messages: 0,
    afterRefusal: 0,
    sessions: 0,
    closeCodes: new Map<number, number>(),
    tags: new Map<string, number>(),
    rest: 0,
    restStatus: new Map<number, number>(),
    restNoAnswer: 0,
    rss: [] as number[],
    lateRegistered: [] as string[],
    renumbered: 0,
    ms: 0,
    logs: { warn: new Map(), errors: [] } as LogTally,
  },
  replica: {
    messages: 0,
    links: 0,
    closeCodes: new Map<number, number>(),
    nacks: new Map<string, number>(),
    quiet: 0,
    lateNacks: 0,
    passedOver: 0,
    afterRefusal: 0,
    ms: 0,
    logs: { warn: new Map(), errors: [] } as LogTally,
  },
};

afterAll(() => {
  const m = summary.master;
  const r = summary.replica;
  console.log(
    `protocol-fuzz seed=${SEED}: ${m.messages + r.messages} messages` +
      ` | master: ${m.messages} ws msgs (${m.afterRefusal} after refusal) in ${m.sessions} conns, ${(m.ms / 1000).toFixed(1)}s,` +
      ` close codes {${fmt(m.closeCodes)}}, REST ${m.rest} reqs {${fmt(m.restStatus)}} no-answer ${m.restNoAnswer},` +
      ` late hellos registered {${m.lateRegistered.join(' ')}}, versions cut past a claimed one ${m.renumbered}, RSS KiB start/warm/end ${m.rss.join('/')}, warnings {${fmt(m.logs.warn)}}` +
      ` | replica: ${r.messages} msgs (${r.afterRefusal} after refusal) on ${r.links} links, ${(r.ms / 1000).toFixed(1)}s, close codes {${fmt(r.closeCodes)}},` +
      ` quiet ${r.quiet}, NACKs sent on the next link ${r.lateNacks}, passed over (stale) ${r.passedOver}, nacks {${fmt(r.nacks)}}, warnings {${fmt(r.logs.warn)}}` +
      ` | generators {${fmt(m.tags)}}`,
  );
});

const utf8 = new TextDecoder('utf-8', { fatal: true });
function validUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** `p`, or an error saying `what` once `ms` have passed. */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** Warnings and errors a service logged, by message, and the last few error lines. */
interface LogTally {
  warn: Map<string, number>;
  errors: Record<string, unknown>[];
}

/** Tallies a service's captured log lines and lets them go, so a long fuzz holds no log. */
function drainLogs(s: Service, into: LogTally) {
  for (const l of s.logs) {
    const level = Number(l.level ?? 0);
    if (level >= 50 && into.errors.length < 20) into.errors.push(l);
    if (level >= 40) count(into.warn, String(l.msg));
  }
  s.logs.length = 0;
}

/** Polls a service's healthz while `body` runs: every answer must be 200, the process alive. */
async function whileHealthy<T>(
  s: Service,
  logs: LogTally,
  body: () => Promise<T>,
): Promise<{ result: T; checks: number }> {
  let checks = 0;
  let failure: string | null = null;
  let done = false;
  const loop = (async () => {
    while (!done) {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
        failure = `process exited (${s.proc.exitCode ?? s.proc.signalCode})`;
        return;
      }
      try {
        const res = await get(`${s.url}/_outpost/healthz`);
        if (res.status !== 200) failure = `healthz answered ${res.status}`;
      } catch (err) {
        failure = `healthz failed: ${(err as Error).message}`;
      }
      if (failure) return;
      checks++;
      drainLogs(s, logs);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  let result: T;
  try {
    result = await body();
  } finally {
    done = true;
    await loop;
    drainLogs(s, logs);
  }
  if (failure) throw new Error(`service unhealthy during the fuzz: ${failure}`);
  return { result, checks };
}

/**
 * Runs a fast-check property in rounds of `runs` until `enough()`; each round has its own seed
 * (printed by fast-check with any counterexample), so a failure replays alone.
 */
async function fuzzUntil<T>(
  arb: fc.Arbitrary<T>,
  seed: number,
  runs: number,
  enough: () => boolean,
  property: (value: T) => Promise<void>,
): Promise<void> {
  for (let round = 0; !enough(); round++) {
    await fc.assert(
      fc.asyncProperty(arb, (v) => (enough() ? Promise.resolve() : property(v))),
      { seed: seed + round * 7919, numRuns: runs, endOnFailure: true },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// (a) the master

/** What the master must do with a connection's frames, judged with the protocol's own schemas. */
interface MasterVerdict {
  /** The close code the master must send; 1000 when it keeps the link (we close it). */
  code: number;
  /** Index of the frame that ends the link, or frames.length. */
  at: number;
  pongs: number;
  /** Names of every schema-valid protocol-1 hello in the frames, wherever it is. */
  helloNames: string[];
  /** The name this connection registered, if any. */
  registered: string | null;
}

const MAX_REPLICA_MESSAGE = 64 * 1024;

/** The replica message a frame carries, when the master must take it as one. */
function replicaMessage(f: Frame): any {
  if (f.binary || f.bytes.length > MAX_REPLICA_MESSAGE || !validUtf8(f.bytes)) return null;
  try {
    const parsed = ReplicaMessageSchema.safeParse(JSON.parse(f.bytes.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function judgeForMaster(frames: Frame[]): MasterVerdict {
  const v: MasterVerdict = { code: 1000, at: frames.length, pongs: 0, helloNames: [], registered: null };
  let helloed = false;
  /** The close code a frame earns on a live link, or null when the link goes on. */
  const judge = (f: Frame, msg: any): number | null => {
    if (f.binary) return 4000;
    if (f.bytes.length > MAX_REPLICA_MESSAGE) return 1009;
    if (!validUtf8(f.bytes)) return 1007;
    if (!msg) return 4000;
    if (msg.type === 'hello') {
      if (helloed) return 4000;
      if (!SUPPORTED_PROTOCOLS.includes(msg.protocol)) return 4002;
      helloed = true;
      v.registered = msg.name;
      return null;
    }
    if (!helloed) return 4000;
    if (msg.type === 'ping') v.pongs++;
    return null;
  };
  for (const [i, f] of frames.entries()) {
    const msg = replicaMessage(f);
    if (msg?.type === 'hello' && msg.protocol === 1) v.helloNames.push(msg.name);
    if (v.at < frames.length) continue;
    const code = judge(f, msg);
    if (code !== null) {
      v.code = code;
      v.at = i;
    }
  }
  return v;
}

/** Opens a link to the master, sends the frames back to back, and sees how it ends. */
async function runMasterSession(wsUrl: string, frames: Frame[], v: MasterVerdict) {
  const ws = new WebSocket(wsUrl, { maxPayload: 64 * 1024 * 1024 });
  let pongs = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    if ((data as Buffer).includes('"pong"')) pongs++;
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  for (const f of frames) ws.send(f.bytes, { binary: f.binary });
  if (v.code === 1000) {
    // The master must keep the link: it answers a last ping, and then we hang up.
    if (v.registered) {
      ws.send(JSON.stringify({ type: 'ping' }));
      await Promise.race([
        waitFor(() => pongs >= v.pongs + 1 || ws.readyState !== WebSocket.OPEN, { timeoutMs: 10_000 }),
        closed,
      ]);
    }
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'fuzz session done');
  }
  const got = await withTimeout(closed, 10_000, 'master session: no close');
  ws.terminate();
  return { ...got, pongs };
}

function masterArbitraries(names: string[], late: string) {
  const nameArb = fc.constantFrom(...names);
  const helloArb = (protocol: fc.Arbitrary<number>, name = nameArb) =>
    fc.record(
      {
        type: fc.constant('hello'),
        protocol,
        name,
        region: labelArb,
        version: versionArb,
        root: sha256Arb,
        advertise: fc.string({ maxLength: 300 }),
      },
      { requiredKeys: ['type', 'protocol', 'name', 'region', 'version', 'root'] },
    );
  const validHello = helloArb(fc.constant(1));
  const reasonArb = fc.oneof(
    fc.string({ minLength: 1, maxLength: 80 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    fc.integer({ min: 1900, max: 2000 }).map((n) => 'r'.repeat(n)),
  );
  const loadArb = fc.record({
    requestsPerSecond: fc.double({ min: 0, max: 1e9, noNaN: true }),
    openConnections: fc.integer({ min: 0, max: 1e9 }),
  });
  const afterHello: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ type: fc.constant('ping') }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('ping'), load: loadArb }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('ack'), version: versionArb, root: sha256Arb }) },
    {
      weight: 2,
      arbitrary: fc.record({ type: fc.constant('nack'), version: versionArb, reason: reasonArb }),
    },
  );
  const validFrame = fc.oneof(
    { weight: 9, arbitrary: afterHello.map((m) => jsonFrame(m, 'valid')) },
    // Unknown keys are stripped by the schemas: still valid.
    {
      weight: 1,
      arbitrary: fc
        .tuple(afterHello, fc.string({ maxLength: 8 }), weirdValueArb)
        .map(([m, k, x]) => jsonFrame({ [k]: x, ...m }, 'valid-extra')),
    },
  );
  const badFrame = fc.oneof(
    { weight: 8, arbitrary: mutationsOf(afterHello) },
    { weight: 3, arbitrary: mutationsOf(validHello) },
    // A second hello, and hellos of other protocols.
    { weight: 1, arbitrary: validHello.map((h) => jsonFrame(h, 'hello-again')) },
    {
      weight: 1,
      arbitrary: helloArb(fc.integer({ min: 0, max: 1000 })).map((h) => jsonFrame(h, 'hello-protocol')),
    },
  );
  const session = fc.record({
    hello: fc.oneof(
      { weight: 8, arbitrary: validHello.map((h) => jsonFrame(h, 'hello')) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 2, arbitrary: mutationsOf(validHello) },
      { weight: 1, arbitrary: helloArb(fc.nat(3)).map((h) => jsonFrame(h, 'hello-protocol')) },
    ),
    // Half the links are short, half carry many messages.
    body: fc.oneof(
      fc.array(validFrame, { maxLength: 5 }),
      fc.array(validFrame, { minLength: 50, maxLength: 150, size: 'max' }),
    ),
    end: fc.option(badFrame, { nil: null, freq: 6 }),
    // Sent right after the frame that ends the link, before the close reaches us.
    trailing: fc.array(
      fc.oneof(
        validFrame,
        badFrame,
        helloArb(fc.constant(1), fc.constant(late)).map((h) => jsonFrame(h, 'late-hello')),
      ),
      { maxLength: 3 },
    ),
  });
  return session.map((s) => {
    // After a hello the master refuses, only a few messages: they all go to a closing link.
    const body = s.hello?.tag === 'hello' ? s.body : s.body.slice(0, 3);
    return [s.hello, ...body, s.end, ...s.trailing].filter((f): f is Frame => !!f);
  });
}

/** Random requests to the pull API and the versions API. */
function restTargetArb(restNames: string[]) {
  const hasName = (s: string) => {
    let d = s;
    try {
      d = decodeURIComponent(s);
    } catch {
      // keep it raw
    }
    return /n\W*a\W*m\W*e/i.test(s) || /n\W*a\W*m\W*e/i.test(d);
  };
  const rawish = fc
    .string({ unit: 'grapheme-ascii', maxLength: 40 })
    .map((s) => s.replace(/[\s#]/g, '_'))
    .filter((s) => !hasName(s));
  const value = fc.oneof(
    fc.constantFrom(
      '-1',
      '1e309',
      'NaN',
      'Infinity',
      '0x1f',
      '1.5',
      '99999999999999999999',
      '9007199254740993',
      '',
      '%',
      '%zz',
      '%00',
      '%ff',
      '%C0%AE%C0%AE',
      '..%2f..%2f',
      '+',
      '%20',
      '0',
      '1',
      '2',
      '3',
      '00002',
      'true',
      '[]',
      '{}',
    ),
    sha256Arb,
    sha256Arb.map((h) => h.toUpperCase()),
    fc.nat().map(String),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => encodeURIComponent(s)),
    rawish,
  );
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('from', 'root', 'region') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('from[]', 'root[0]', '__proto__', 'constructor', 'toString', '', 'FROM'),
    },
    { weight: 1, arbitrary: rawish },
  );
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(key, value).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: fc.constantFrom(...restNames).map((n) => `name=${n}`) },
    { weight: 1, arbitrary: key },
  );
  const query = fc.array(pair, { maxLength: 8 }).map((ps) => ps.join('&'));
  const segment = fc.oneof(
    sha256Arb,
    value,
    fc.constantFrom(...TRICKY_PATHS.filter((p) => /^[\x21-\x7e]*$/.test(p) && !p.includes('#'))),
    fc.integer({ min: 100, max: 5000 }).map((n) => 'a'.repeat(n)),
  );
  return fc.oneof(
    { weight: 6, arbitrary: query.map((q) => `/_outpost/api/v1/manifest?${q}`) },
    { weight: 1, arbitrary: query.map((q) => `/_outpost/api/v1/manifest/?${q}&${q}`) },
    { weight: 3, arbitrary: segment.map((s) => `/_outpost/api/v1/chunks/${s}`) },
    { weight: 2, arbitrary: segment.map((s) => `/_outpost/api/v1/versions/${s}`) },
    { weight: 1, arbitrary: fc.tuple(segment, query).map(([s, q]) => `/_outpost/api/v1/${s}?${q}`) },
    { weight: 1, arbitrary: rawish.map((s) => `/_outpost/${s}`) },
  );
}

// ---------------------------------------------------------------------------------------------
// (b) the replica

const MTIME = 1_700_000_000_000;

function putOf(path: string, data: Buffer, inline = false) {
  return {
    op: 'put' as const,
    path,
    size: data.length,
    hash: sha256Hex(data),
    mtime: MTIME,
    chunks: chunkBuffer(data).map((c) => ({ hash: sha256Hex(c), size: c.length })),
    ...(inline && data.length <= 8192 ? { data: data.toString('base64') } : {}),
  };
}

type Put = ReturnType<typeof putOf>;

/** A small genuine version for a fake master to hold, plus spare chunks it will also serve. */
function genuineVersion() {
  const bytes = (n: number, seed: number) => {
    const b = Buffer.alloc(n);
    let x = seed;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  };
  const files: [string, Buffer, boolean][] = [
    ['index.html', Buffer.from('<!doctype html><h1>fuzzed</h1>\n'), true],
    ['docs/a.txt', Buffer.from('alpha\n'.repeat(300)), false],
    ['Readme.md', Buffer.from('# readme\n'), true],
    ['big.bin', bytes(150 * 1024, 7), false],
  ];
  const puts = files.map(([p, d, inline]) => putOf(p, d, inline));
  const manifest: Manifest = { version: 1, from: 0, full: true, root: merkleRoot(puts), changes: puts };
  const chunks = new Map<string, Buffer>();
  for (const [, d] of files) for (const c of chunkBuffer(d)) chunks.set(sha256Hex(c), c);
  const spares = [10, 300, 4096, 40_000, 65_536].map((n, i) => {
    const data = bytes(n, 1000 + i);
    chunks.set(sha256Hex(data), data);
    return { hash: sha256Hex(data), size: n, data };
  });
  return { files, puts, manifest, chunks, spares };
}

type Genuine = ReturnType<typeof genuineVersion>;

/** Master messages for the replica: schema-valid ones that must be refused, and mutations. */
function replicaArbitraries(g: Genuine) {
  const held = g.manifest;
  const heldPaths = g.puts.map((p) => p.path);
  const rootAfter = (full: boolean, changes: any[]) => {
    const t = new Map<string, { path: string; size: number; hash: string }>(
      full ? [] : g.puts.map((p) => [p.path, p]),
    );
    for (const c of changes) {
      if (c.op === 'delete') t.delete(c.path);
      else t.set(c.path, c);
    }
    return merkleRoot(t.values());
  };
  const newer = fc.oneof(
    fc.integer({ min: 2, max: 50 }),
    fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }),
  );
  const chunkRef = fc.record({ hash: sha256Arb, size: fc.integer({ min: 1, max: 16 * 1024 * 1024 }) });
  const freshPath = goodPathArb.map((p) => `fz/${p}`);
  const anyPut = fc.record(
    {
      op: fc.constant('put'),
      path: fc.oneof(freshPath, fc.constantFrom(...heldPaths)),
      size: fc.oneof(fc.nat(1_000_000), fc.maxSafeNat()),
      hash: sha256Arb,
      mtime: epochMsArb,
      chunks: fc.array(chunkRef, { maxLength: 4 }),
      data: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
    },
    { requiredKeys: ['op', 'path', 'size', 'hash', 'mtime', 'chunks'] },
  );
  const anyDelete = fc.record({
    op: fc.constant('delete'),
    path: fc.oneof(freshPath, fc.constantFrom(...heldPaths)),
  });
  const anyChange = fc.oneof(anyPut, anyDelete);
  const spare = fc.constantFrom(...g.spares);
  // A put whose content cannot be had intact: every one must make the version fail.
  const defectivePut: fc.Arbitrary<{ defect: string; puts: any[] }> = fc.oneof(
    fc
      .tuple(freshPath, fc.array(spare, { minLength: 1, maxLength: 3 }), sha256Arb)
      .map(([path, ss, hash]) => ({
        defect: 'bad-hash',
        puts: [
          {
            op: 'put',
            path,
            size: ss.reduce((n, s) => n + s.size, 0),
            hash,
            mtime: MTIME,
            chunks: ss.map(({ hash, size }) => ({ hash, size })),
          },
        ],
      })),
    fc
      .tuple(
        freshPath,
        spare,
        fc.integer({ min: -9, max: 9 }).filter((d) => d !== 0),
      )
      .map(([path, s, d]) => ({
        defect: 'size',
        puts: [
          {
            op: 'put',
            path,
            size: Math.max(0, s.size + d),
            hash: sha256Hex(s.data),
            mtime: MTIME,
            chunks: [{ hash: s.hash, size: s.size }],
          },
        ],
      })),
    fc
      .tuple(freshPath, fc.array(chunkRef, { minLength: 1, maxLength: 3 }), sha256Arb)
      .map(([path, cs, hash]) => ({
        defect: 'missing-chunk',
        puts: [{ op: 'put', path, size: cs.reduce((n, c) => n + c.size, 0), hash, mtime: MTIME, chunks: cs }],
      })),
    fc.tuple(freshPath, spare, fc.constantFrom(-1, 1, 1000)).map(([path, s, d]) => ({
      defect: 'chunk-size',
      puts: [
        {
          op: 'put',
          path,
          size: s.size + d,
          hash: sha256Hex(s.data),
          mtime: MTIME,
          chunks: [{ hash: s.hash, size: Math.max(1, s.size + d) }],
        },
      ],
    })),
    fc.tuple(freshPath, fc.uint8Array({ minLength: 1, maxLength: 2000 })).map(([path, b]) => {
      const data = Buffer.from(b);
      return {
        defect: 'inline',
        puts: [
          {
            op: 'put',
            path,
            size: data.length,
            hash: sha256Hex(data),
            mtime: MTIME,
            chunks: [{ hash: sha256Hex(Buffer.concat([data, Buffer.from([0])])), size: data.length }],
            data: data.toString('base64'),
          },
        ],
      };
    }),
    fc
      .tuple(
        freshPath,
        spare,
        spare.filter((x) => x.size !== 4096),
      )
      .map(([path, a, b0]) => {
        // Two different spares: the same one twice would make a genuine file.
        const b = b0.hash === a.hash ? g.spares[2]! : b0;
        const whole = Buffer.concat([a.data, b.data, a.data]);
        return {
          defect: 'chunk-order',
          puts: [
            {
              op: 'put',
              path,
              size: whole.length,
              hash: sha256Hex(Buffer.concat([b.data, a.data, b.data])),
              mtime: MTIME,
              chunks: [a, b, a].map(({ hash, size }) => ({ hash, size })),
            },
          ],
        };
      }),
    fc.tuple(fc.constantFrom(...heldPaths), spare, fc.boolean()).map(([p, s, nfc]) => {
      const put = { op: 'put', path: p.toUpperCase(), size: s.size, hash: s.hash, mtime: MTIME, chunks: [s] };
      const chunks = [{ hash: s.hash, size: s.size }];
      // One path that folds onto a held one (refused when the held tree is kept), and two new
      // paths that fold together (refused either way): NFC/NFD forms or letter case.
      const pair = nfc ? ['fz/\u00e9.txt', 'fz/e\u0301.txt'] : ['fz/Case.txt', 'fz/cASE.txt'];
      return {
        defect: 'case-fold',
        puts: [{ ...put, chunks }, ...pair.map((path) => ({ ...put, path, chunks }))],
      };
    }),
  );
  const rootMismatch = fc.record({
    type: fc.constant('publish'),
    version: newer,
    root: sha256Arb,
    from: fc.oneof(fc.constant(1), versionArb),
    full: fc.boolean(),
    changes: fc.array(anyChange, { maxLength: 12 }),
  });
  const notNewer = fc.record({
    type: fc.constant('publish'),
    version: fc.constantFrom(0, 1),
    root: fc.oneof(sha256Arb, fc.constant(held.root)),
    from: fc.constantFrom(0, 1),
    full: fc.boolean(),
    changes: fc.array(anyChange, { maxLength: 4 }),
  });
  const rootMatches = fc
    .tuple(newer, fc.boolean(), fc.array(anyDelete, { maxLength: 4 }), defectivePut)
    .map(([version, full, deletes, d]) => {
      const changes = [...deletes, ...d.puts];
      return { type: 'publish', version, from: 1, full, root: rootAfter(full, changes), changes };
    });
  const gap = fc.record({
    type: fc.constant('publish'),
    version: versionArb,
    root: sha256Arb,
    from: versionArb.filter((v) => v !== 1),
    full: fc.constant(false),
    changes: fc.array(anyChange, { maxLength: 4 }),
  });
  const huge = fc
    .tuple(newer, fc.integer({ min: 2000, max: 12_000 }), fc.boolean())
    .map(([version, n, many]) =>
      many
        ? {
            type: 'publish',
            version,
            from: 1,
            full: false,
            root: sha256Hex(String(n)),
            changes: Array.from({ length: n }, (_, i) => ({ op: 'delete', path: `fz/p${i}` })),
          }
        : {
            type: 'publish',
            version,
            from: 1,
            full: false,
            root: rootAfter(false, [{ op: 'put', path: 'fz/huge', size: n * 65_536, hash: sha256Hex('h') }]),
            changes: [
              {
                op: 'put',
                path: 'fz/huge',
                size: n * 65_536,
                hash: sha256Hex('h'),
                mtime: MTIME,
                chunks: Array.from({ length: n }, (_, i) => ({ hash: sha256Hex(`c${i}`), size: 65_536 })),
              },
            ],
          },
    );
  const other = fc.oneof(
    fc.record({ type: fc.constant('pong'), version: versionArb, root: sha256Arb }),
    fc.record({ type: fc.constant('pong'), version: fc.constant(1), root: fc.constant(held.root) }),
    fc.record({ type: fc.constant('welcome'), protocol: fc.integer(), version: versionArb, root: sha256Arb }),
  );
  const publishes: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
    { weight: 5, arbitrary: rootMismatch },
    { weight: 1, arbitrary: notNewer },
    { weight: 4, arbitrary: rootMatches },
    { weight: 1, arbitrary: gap },
  );
  const quietOrNack = fc.oneof(
    { weight: 170, arbitrary: publishes.map((m) => jsonFrame(m, 'publish')) },
    { weight: 30, arbitrary: other.map((m) => jsonFrame(m, 'other')) },
    // Up to 12,000 changes or chunks: a few of them go a long way.
    { weight: 1, arbitrary: huge.map((m) => jsonFrame(m, 'huge')) },
  );
  const badPath = fc
    .tuple(
      rootMatches,
      fc.constantFrom(...TRICKY_PATHS),
      fc.nat(),
      fc.constantFrom('path', 'size', 'hash', 'mtime', 'chunks', 'data'),
      weirdValueArb,
      fc.boolean(),
    )
    .map(([m, p, i, field, v, pathOnly]) => {
      const changes = (m.changes as any[]).map((c) => ({ ...c }));
      const c = changes[i % changes.length];
      if (pathOnly) c.path = p;
      else c[field] = v;
      return jsonFrame({ ...m, changes }, pathOnly ? 'bad-path' : 'bad-change');
    });
  const terminal = fc.oneof(
    { weight: 3, arbitrary: badPath },
    { weight: 3, arbitrary: mutationsOf(publishes) },
    { weight: 1, arbitrary: mutationsOf(other) },
  );
  return fc.record({
    frames: fc.array(quietOrNack, { minLength: 20, maxLength: 200, size: 'max' }),
    // One batch in five ends the link with a message the replica must refuse.
    end: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: terminal }),
    // More bad messages right behind it, before the close takes effect: each is parsed and refused.
    trailing: fc.array(terminal, { maxLength: 30 }),
  });
}

/** Versions above any the fuzz makes up, to mark a point in a link's NACKs. */
/**
 * The version of a marker, sent after a batch to learn when the replica is done with it: the
 * highest there is, so that no manifest queued behind it nor any the master is known to have
 * makes the replica pass it over (see SyncEngine's stale manifests). Told apart from a
 * generated publish of the same version by its root, which its NACK names.
 */
const MARKER_VERSION = Number.MAX_SAFE_INTEGER;
const MARKER_ROOT = sha256Hex('the marker');
const isMarker = (n: { version: number; reason: string }) =>
  n.version === MARKER_VERSION && n.reason.includes(MARKER_ROOT);
const markerFrame = JSON.stringify({
  type: 'publish',
  version: MARKER_VERSION,
  root: MARKER_ROOT,
  from: 1,
  full: true,
  changes: [],
});

/** Throws unless the NACKs' versions are a subsequence of those expected: in order, none made up. */
function expectSubsequence(seen: { version: number }[], expected: number[]) {
  let at = 0;
  for (const n of seen) {
    while (at < expected.length && expected[at] !== n.version) at++;
    if (at === expected.length)
      throw new Error(`NACKs ${seen.map((x) => x.version)} are not a subsequence of ${expected}`);
    at++;
  }
}

type ReplicaVerdict = { kind: 'close'; code: number } | { kind: 'nack'; version: number } | { kind: 'quiet' };

function judgeForReplica(f: Frame, held: Manifest): ReplicaVerdict {
  if (f.binary) return { kind: 'close', code: 4000 };
  if (!validUtf8(f.bytes)) return { kind: 'close', code: 1007 };
  let json: unknown;
  try {
    json = JSON.parse(f.bytes.toString('utf8'));
  } catch {
    return { kind: 'close', code: 4000 };
  }
  const parsed = MasterMessageSchema.safeParse(json);
  if (!parsed.success) return { kind: 'close', code: 4000 };
  const m = parsed.data;
  if (m.type !== 'publish') return { kind: 'quiet' };
  if (m.version === held.version && m.root === held.root) return { kind: 'quiet' };
  // Older than the version held: passed over (a master rebuilding its store offers its own).
  if (m.version < held.version) return { kind: 'quiet' };
  if (!m.full && m.from !== held.version) return { kind: 'quiet' };
  return { kind: 'nack', version: m.version };
}

/** A NACK reason with its particulars (hashes, numbers, paths) taken out, to count by kind. */
function reasonKind(reason: string): string {
  return reason
    .replace(/[0-9a-f]{64}/g, 'H')
    .replace(/\d+/g, 'N')
    .replace(/^(root mismatch|paths differ only in case|chunk H failed verification).*/, '$1')
    .replace(
      /^[\s\S]*: content does not match its published hash$/,
      'P: content does not match its published hash',
    )
    .replace(/^master answered N for chunk H$/, 'master answered N for chunk')
    .replace(/^chunk H of [\s\S]* is missing$/, 'chunk H of P is missing')
    .replace(/^(could not store version N: chunk H of )[\s\S]*( has the wrong size)$/, '$1P$2')
    .slice(0, 70);
}

async function replicaStatus(r: Service) {
  return getJson(`${r.url}/_outpost/api/v1/status`);
}

/** Each file of the genuine version, served whole and genuine, at version 1. */
async function expectServesGenuine(r: Service, g: Genuine) {
  for (const [path, data] of g.files) {
    const res = await get(`${r.url}/${path}`);
    expect(res.status, path).toBe(200);
    expect(sha256Hex(res.body), path).toBe(sha256Hex(data));
    expect(res.headers['x-outpost-version']).toBe('1');
  }
}

async function startReplicaOn(fake: FakeMaster, name: string) {
  const dir = tempDir('outpost-fuzz-');
  const replica = await startReplica({
    name,
    region: 'fuzz',
    master: fake.url,
    data: dir.path,
    env: QUIETER,
  });
  return { replica, dir };
}

// ---------------------------------------------------------------------------------------------

describe('protocol fuzz', () => {
  it('a live master survives generated and mutated replica messages and pull-API requests', async () => {
    const started = Date.now();
    const fleet = await Fleet.start({
      files: { 'index.html': '<h1>hq</h1>\n', 'docs/policy.txt': 'be nice\n'.repeat(2000) },
      env: QUIETER,
    });
    try {
      const master = fleet.master;
      const pid = master.proc.pid!;
      const before = await fleet.masterCaughtUp();
      const versionsBefore = await getJson(`${master.url}/_outpost/api/v1/versions`);
      const wsUrl = `${master.url.replace(/^http/, 'ws')}/_outpost/ws`;
      const m = summary.master;
      m.rss.push(rssKiB(pid));
      const workers = 4;
      const restNames = ['rest-a', 'rest-b'];
      const helloNames = new Set<string>();
      const registered = new Set<string>();
      let stop = false;

      const wsWorker = async (k: number) => {
        const names = [`fz${k}-a`, `fz${k}-b`];
        const arb = masterArbitraries(names, `late${k}`);
        await fuzzUntil(
          arb,
          SEED * 10 + k,
          50,
          () => stop,
          async (frames) => {
            const v = judgeForMaster(frames);
            for (const n of v.helloNames) helloNames.add(n);
            if (v.registered) registered.add(v.registered);
            const got = await runMasterSession(wsUrl, frames, v);
            m.sessions++;
            m.messages += frames.length;
            m.afterRefusal += frames.length - Math.min(frames.length, v.at + 1);
            count(m.closeCodes, got.code);
            for (const f of frames) count(m.tags, f.tag);
            // Another worker's mutated name may collide with ours: then "replaced" is right.
            const replaced = got.code === 4003 && v.registered !== null && !names.includes(v.registered);
            if (got.code !== v.code && !replaced) {
              throw new Error(
                `master closed with ${got.code} (${got.reason}), expected ${v.code} at frame ${v.at}: ` +
                  frames
                    .slice(0, v.at + 1)
                    .map((f) => `${f.tag}:${f.bytes.subarray(0, 120).toString()}`)
                    .join(' | '),
              );
            }
            if (m.rss.length === 1 && m.messages > MASTER_TARGET / 8) m.rss.push(rssKiB(pid));
            if (m.messages >= MASTER_TARGET) stop = true;
          },
        );
      };

      const restWorker = async (k: number) => {
        let conn = await RawConnection.open(master.url);
        let reopen = false;
        await fuzzUntil(
          restTargetArb(restNames),
          SEED * 10 + 5 + k,
          100,
          () => stop,
          async (target) => {
            if (reopen || conn.closed) {
              conn.destroy();
              conn = await RawConnection.open(master.url);
              reopen = false;
            }
            conn.get(target);
            const res = await conn.readResponse({ timeoutMs: 10_000 });
            m.rest++;
            if (!res) {
              m.restNoAnswer++;
              reopen = true;
              return;
            }
            count(m.restStatus, res.status);
            if (res.headers.connection === 'close') reopen = true;
            if (res.status < 200 || res.status >= 500 || (res.status >= 300 && res.status < 400))
              throw new Error(`GET ${target} answered ${res.status}: ${res.body.subarray(0, 300)}`);
          },
        );
        conn.destroy();
      };

      const { checks } = await whileHealthy(master, m.logs, () =>
        Promise.all([
          ...Array.from({ length: workers }, (_, k) => wsWorker(k)),
          restWorker(0),
          restWorker(1),
        ]),
      );
      m.ms = Date.now() - started;
      expect(checks).toBeGreaterThan(5);
      expect(m.messages).toBeGreaterThanOrEqual(MASTER_TARGET);
      // Nothing changed but the fleet table, only for names that said a valid hello, and the
      // numbering: a valid hello (or pull) claiming a version beyond the master's is answered
      // with the same content published again past it (heldBeyond), at most 2^32 further.
      const after = await fleet.masterStatus();
      expect(after.root).toBe(before.root);
      const versionsAfter: { version: number; root: string; files: number }[] = await getJson(
        `${master.url}/_outpost/api/v1/versions`,
      );
      const renumbered = versionsAfter.filter((v) => v.version > before.version);
      expect(versionsAfter.filter((v) => v.version <= before.version)).toEqual(versionsBefore);
      for (const v of renumbered)
        expect(v).toMatchObject({ root: before.root, files: before.entries.length });
      expect(after.version).toBeLessThanOrEqual(before.version + renumbered.length * 2 ** 32);
      m.renumbered = renumbered.length;
      const listed: string[] = after.replicas.map((r: any) => r.name);
      const allowed = new Set([...helloNames, ...restNames]);
      m.lateRegistered = listed.filter((n) => n.startsWith('late'));
      expect(listed.filter((n) => !allowed.has(n))).toEqual([]);
      for (const n of registered) expect(listed).toContain(n);
      expect(after.problems).toEqual([]);
      expect(m.logs.errors).toEqual([]);
      // Memory flat once warm: within 1.5× of the warm sample, plus 32 MiB for a collection
      // still pending right after the burst (seen once on Node 24: 1.55×). A leak of half a
      // kilobyte per message would still show over these 100,000. The RSS is given a few
      // seconds to settle.
      const warm = m.rss[1]!;
      const limit = warm * 1.5 + 32 * 1024;
      const end = await waitFor(
        () => {
          const now = rssKiB(pid);
          return now <= limit ? now : null;
        },
        { timeoutMs: 5000, intervalMs: 250, what: `master RSS within ${limit} KiB` },
      ).catch(() => rssKiB(pid));
      m.rss.push(end);
      expect(end).toBeLessThanOrEqual(limit);
      expect((await get(`${master.url}/_outpost/healthz`)).status).toBe(200);
      expect(master.proc.exitCode).toBeNull();
    } finally {
      await fleet.stop();
    }
  }, 180_000);

  it('a live replica survives generated and mutated master messages from a fake master', async () => {
    const started = Date.now();
    const g = genuineVersion();
    const fake = await startFakeMaster({ manifest: g.manifest, chunks: g.chunks });
    const { replica, dir } = await startReplicaOn(fake, 'fuzz-replica');
    const r = summary.replica;
    try {
      let link: FakeLink = await fake.linkAfter(0);
      await waitFor(() => link.acks.length > 0, { what: 'the replica to ACK the genuine version' });
      expect(link.acks[0]).toEqual({ version: 1, root: g.manifest.root });
      await expectServesGenuine(replica, g);
      let linkNo = 0;
      let batches = 0;
      let before = link.nacks.length;
      const arb = replicaArbitraries(g);
      await whileHealthy(replica, r.logs, () =>
        fuzzUntil(
          arb,
          SEED * 10 + 8,
          10,
          () => r.messages >= REPLICA_TARGET,
          async ({ frames, end, trailing }) => {
            batches++;
            const all = end ? [...frames, end] : frames;
            const expected: number[] = [];
            before = link.nacks.length;
            let close: number | null = null;
            for (const f of all) {
              const v = judgeForReplica(f, g.manifest);
              link.ws.send(f.bytes, { binary: f.binary });
              r.messages++;
              if (v.kind === 'nack') expected.push(v.version);
              else if (v.kind === 'quiet') r.quiet++;
              else {
                close = v.code;
                break;
              }
            }
            if (close !== null) {
              for (const f of trailing) link.ws.send(f.bytes, { binary: f.binary });
              r.messages += trailing.length;
              r.afterRefusal += trailing.length;
            }
            if (close !== null) {
              const got = await withTimeout(
                link.closed,
                15_000,
                'the replica kept a link after a bad message',
              );
              count(r.closeCodes, got.code);
              if (got.code !== close) throw new Error(`replica closed with ${got.code}, expected ${close}`);
              const old = link.nacks.slice(before);
              link = await fake.linkAfter(++linkNo, 15_000);
              r.links = linkNo + 1;
              // Versions offered before the close are still being applied; their NACKs go out on
              // the next link, or nowhere while none is up. A marker version that fails at once
              // shows when the replica is done with them.
              link.ws.send(markerFrame);
              // Generous: a 'huge' frame before it (12,000 chunks the fake master does not have)
              // took over 20 s on a loaded CI machine while the replica asked for each one by one.
              await waitFor(() => link.nacks.some(isMarker), {
                timeoutMs: 90_000,
                what: 'the NACK of the marker version',
              });
              const late = link.nacks.slice(0, link.nacks.findIndex(isMarker));
              r.lateNacks += late.length;
              const seen = [...old, ...late];
              for (const n of seen) count(r.nacks, reasonKind(n.reason));
              // What came back is what was expected, in order, less what had nowhere to go.
              expectSubsequence(seen, expected);
              before = link.nacks.length;
            } else {
              // Each publish is NACKed, in order, but those the replica passed over: a newer one
              // queued behind it, or one no newer than a version whose chunks the master did not
              // have. The marker after them says when it is done.
              link.ws.send(markerFrame);
              await waitFor(() => link.nacks.slice(before).some(isMarker) || link.isClosed, {
                timeoutMs: 90_000,
                what: 'the NACK of the marker version',
              });
              expect(link.isClosed).toBe(false);
              const got = link.nacks.slice(before, before + link.nacks.slice(before).findIndex(isMarker));
              for (const n of got) count(r.nacks, reasonKind(n.reason));
              r.passedOver += expected.length - got.length;
              // JSON has a -0 the replica answers as 0 (JSON.stringify(-0) is "0").
              expectSubsequence(
                got,
                expected.map((v) => (v === 0 ? 0 : v)),
              );
              before = link.nacks.length;
            }
            if (batches % 10 === 0) {
              const s = await replicaStatus(replica);
              expect({ version: s.version, root: s.root }).toEqual({ version: 1, root: g.manifest.root });
            }
          },
        ),
      );
      r.ms = Date.now() - started;
      r.links = linkNo + 1;
      expect(r.messages).toBeGreaterThanOrEqual(REPLICA_TARGET);
      // Still serving the genuine version, whole, and nothing else.
      const s = await replicaStatus(replica);
      expect({ version: s.version, root: s.root }).toEqual({ version: 1, root: g.manifest.root });
      await expectServesGenuine(replica, g);
      expect((await get(`${replica.url}/fz/huge`)).status).toBe(404);
      // No close code but 4000 (bad message) and 1007 (not UTF-8) from the replica.
      expect([...r.closeCodes.keys()].filter((c) => c !== 4000 && c !== 1007)).toEqual([]);
      expect(r.nacks.size).toBeGreaterThan(3);
      expect(r.logs.errors).toEqual([]);
    } finally {
      await replica.stop();
      await fake.close();
      dir.cleanup();
    }
  }, 180_000);

  // Once the master has refused a link (close 4000 sent), frames already on the wire behind
  // the refused one must not be obeyed: a hello there would register a replica (and replace a
  // live session of that name), an ACK would rewrite the version status shows.
  it('a link the master refused obeys nothing that follows on it', async () => {
    const fleet = await Fleet.start({ files: { 'index.html': 'hq\n' } });
    try {
      await fleet.masterCaughtUp();
      const ws = new WebSocket(`${fleet.master.url.replace(/^http/, 'ws')}/_outpost/ws`);
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      const root = sha256Hex('anything');
      // No hello first: refused. Then, in the same burst, a hello and an ACK.
      ws.send(JSON.stringify({ type: 'ping' }));
      ws.send(
        JSON.stringify({ type: 'hello', protocol: 1, name: 'late-probe', region: 'zz', version: 0, root }),
      );
      ws.send(JSON.stringify({ type: 'ack', version: 7, root }));
      expect(await closed).toBe(4000);
      const status = await fleet.masterStatus();
      expect(status.replicas.map((r: any) => r.name)).not.toContain('late-probe');
    } finally {
      await fleet.stop();
    }
  });

  // A put whose hash names content the replica already holds must keep the chunk list that
  // content was verified with: a publish pairing a known hash with other chunks (any bytes of
  // the same size) must never make the replica serve those bytes under the known ETag, nor
  // poison the body cache shared by every file with that hash.
  it('a publish that pairs known content with other chunks never serves other bytes under that hash', async () => {
    const g = genuineVersion();
    const fake = await startFakeMaster({ manifest: g.manifest, chunks: g.chunks });
    const { replica, dir } = await startReplicaOn(fake, 'fuzz-known');
    try {
      const link = await fake.linkAfter(0);
      await waitFor(() => link.acks.length > 0);
      const [, genuine] = g.files[1]!; // docs/a.txt
      const known = g.puts[1]!;
      const impostor = Buffer.alloc(genuine.length, 'x');
      g.chunks.set(sha256Hex(impostor), impostor);
      const evil: Put = {
        ...known,
        path: 'docs/b.txt',
        chunks: [{ hash: sha256Hex(impostor), size: impostor.length }],
      };
      const changes = [evil];
      const root = merkleRoot([...g.puts, evil]);
      link.ws.send(JSON.stringify({ type: 'publish', version: 2, from: 1, full: false, root, changes }));
      await waitFor(() => link.acks.length > 1 || link.nacks.length > 0, { what: 'an ACK or a NACK' });
      // Every body served hashes to the ETag it is served under, whatever was applied: the
      // impostor path, and the genuine file with that hash (asked after it, so from the cache).
      const wrong: string[] = [];
      for (const path of ['docs/b.txt', 'docs/a.txt']) {
        const res = await get(`${replica.url}/${path}`);
        if (res.status === 200 && `"${sha256Hex(res.body)}"` !== res.headers.etag)
          wrong.push(`${path} served ${res.body.subarray(0, 8)}… under ETag ${res.headers.etag}`);
      }
      expect(wrong).toEqual([]);
      // The version may be taken (its root is right, and the held content is genuine), but then
      // docs/b.txt is the genuine bytes of that hash.
      const b = await get(`${replica.url}/docs/b.txt`);
      if (b.status === 200) expect(b.body.equals(genuine)).toBe(true);
    } finally {
      await replica.stop();
      await fake.close();
      dir.cleanup();
    }
  });
});
