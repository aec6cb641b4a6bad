import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { sha256Hex, type TreeEntry } from '@outpost/core';
import { clientErrorAnswerer } from '@outpost/service';
import type { Store } from '@outpost/store';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSnapshot } from '../serve/snapshot.js';
import { createContentHandler } from './content-handler.js';
import { type Answered, installDirectLane } from './direct-lane.js';
import { applyServerLimits, DEFAULT_LIMITS, type ServerLimits, serverOptions } from './server-limits.js';

/*
 * The direct lane over real sockets, beside a server of the same handler without it: what a
 * reader gets back must be the same bytes (but for the Date line) whichever answers, and the
 * lane must hand over what it does not answer, keep its limits and close as node:http does.
 */

const chunks = new Map<string, Buffer>();
const entry = (path: string, data: Buffer, mtime = Date.UTC(2024, 0, 15, 12)): TreeEntry => {
  const parts: { hash: string; size: number }[] = [];
  for (let at = 0; at < data.length || parts.length === 0; at += 64 * 1024) {
    const piece = data.subarray(at, at + 64 * 1024);
    const hash = sha256Hex(piece);
    chunks.set(hash, piece);
    parts.push({ hash, size: piece.length });
    if (data.length === 0) break;
  }
  return { path, size: data.length, hash: sha256Hex(data), mtime, chunks: parts };
};
const SMALL = Buffer.from('small\n');
const MID = Buffer.alloc(200 * 1024, 'm');
const FILES = [
  entry('small.txt', SMALL),
  entry('empty.txt', Buffer.alloc(0)),
  entry('docs/index.html', Buffer.from('<h1>docs</h1>\n')),
  entry('mid.bin', MID),
  entry('large.bin', Buffer.alloc(600 * 1024, 'L')),
];
// A file whose one chunk the store has lost: its answer is the 503 of a file being repaired.
const DAMAGED = entry('damaged.txt', Buffer.from('lost bytes\n'));
chunks.delete(DAMAGED.chunks[0]!.hash);
FILES.push(DAMAGED);
const store = { chunks: { get: (hash: string) => chunks.get(hash) } } as unknown as Store;
const LIMITS: ServerLimits = {
  ...DEFAULT_LIMITS,
  headersTimeoutMs: 1_000,
  keepAliveTimeoutMs: 1_000,
  maxRequestsPerSocket: 5,
};

interface Served {
  server: Server;
  port: number;
  laneAnswers: number;
  answered: Answered[];
}

/** A server of the content handler, with the direct lane in front or not. */
async function serve(lane: boolean, limits = LIMITS): Promise<Served> {
  const snap = makeSnapshot(7, FILES);
  const handler = createContentHandler({
    name: 'uk-london',
    store,
    log: pino({ level: 'silent' }),
    current: () => snap,
  });
  const server = createServer(serverOptions(limits), handler);
  const s: Served = { server, port: 0, laneAnswers: 0, answered: [] };
  if (lane) {
    installDirectLane(server, {
      answer: (h) => handler.quick(h),
      limits,
      onRequest: () => s.laneAnswers++,
      onAnswered: (a) => s.answered.push(a),
    });
  }
  applyServerLimits(server, limits);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  s.port = (server.address() as AddressInfo).port;
  return s;
}

/** Sends `parts` (a promise in between: once it settles), reads until the server closes. */
async function exchange(
  port: number,
  ...parts: (string | Promise<void>)[]
): Promise<{ bytes: string; ms: number }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  const closed = once(socket, 'close');
  for (const p of parts) {
    if (typeof p === 'string') socket.write(Buffer.from(p, 'latin1'));
    else await p;
  }
  await closed;
  return { bytes: Buffer.concat(got).toString('latin1'), ms: Date.now() - started };
}

/**
 * Asks each head in turn on one connection, the next once the answer to the one before is
 * in (interim 1xx answers skipped), and gives all that came back, up to the close. (None of
 * the heads asked has a body for node:http to wait on: an answer that does not come within
 * 3 s is one missing.)
 */
async function converse(port: number, heads: string[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let got = Buffer.alloc(0);
  let closed = false;
  let wake = () => {};
  socket.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  let at = 0;
  /** Waits for the whole answer starting at `at` to a head of `method`; false if none came. */
  const answer = async (method: string): Promise<boolean> => {
    const deadline = Date.now() + 3000;
    for (;;) {
      const end = got.indexOf('\r\n\r\n', at);
      if (end !== -1) {
        const head = got.toString('latin1', at, end);
        const status = Number(head.slice(9, 12));
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        const body = method === 'HEAD' || status === 304 ? 0 : length;
        if (got.length >= end + 4 + body) {
          at = end + 4 + body;
          if (status >= 200) return true;
          continue;
        }
      }
      if (closed || Date.now() > deadline) return false;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 20);
      });
    }
  };
  for (const h of heads) {
    if (closed) break;
    socket.write(Buffer.from(h, 'latin1'));
    if (!(await answer(h.slice(0, 4)))) break;
  }
  socket.destroy();
  return got.toString('latin1');
}

/** The bytes with each Date line made alike (the two servers answer a second apart at times). */
const sansDate = (bytes: string) => bytes.replace(/\r\nDate: [^\r]*\r\n/g, '\r\nDate: -\r\n');

const req = (method: string, target: string, fields = '') =>
  `${method} ${target} HTTP/1.1\r\nHost: x\r\n${fields}\r\n`;
const last = (method: string, target: string, fields = '') =>
  req(method, target, `${fields}Connection: close\r\n`);

describe('the direct lane', () => {
  let lane: Served;
  let plain: Served;
  const extra: Served[] = [];

  beforeAll(async () => {
    lane = await serve(true);
    plain = await serve(false);
  });
  afterEach(() => {
    lane.laneAnswers = 0;
    lane.answered = [];
  });
  afterAll(async () => {
    for (const s of [lane, plain, ...extra]) {
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
    }
  });

  const etag = `"${sha256Hex(SMALL)}"`;
  // [what, the bytes sent, how many requests of them the lane answers itself]
  const cases: [string, string, number][] = [
    ['a GET', last('GET', '/small.txt'), 1],
    ['a HEAD', last('HEAD', '/small.txt'), 1],
    ['an empty file', last('GET', '/empty.txt'), 1],
    ['a 200 KiB file, whole in one write', last('GET', '/mid.bin'), 1],
    ['If-None-Match that matches → 304', last('GET', '/small.txt', `If-None-Match: ${etag}\r\n`), 1],
    [
      'If-None-Match in a list, weak → 304',
      last('GET', '/small.txt', `If-None-Match: "x", W/${etag}\r\n`),
      1,
    ],
    ['If-None-Match: * → 304', last('GET', '/small.txt', 'If-None-Match: *\r\n'), 1],
    ['If-None-Match that does not match → 200', last('GET', '/small.txt', 'If-None-Match: "nope"\r\n'), 1],
    [
      'If-Modified-Since later → 304',
      last('GET', '/small.txt', 'If-Modified-Since: Tue, 16 Jan 2024 00:00:00 GMT\r\n'),
      1,
    ],
    [
      'If-Modified-Since earlier → 200',
      last('GET', '/small.txt', 'If-Modified-Since: Sun, 14 Jan 2024 00:00:00 GMT\r\n'),
      1,
    ],
    ['If-Modified-Since no date → 200', last('GET', '/small.txt', 'If-Modified-Since: yesterday\r\n'), 1],
    ['Accept-Encoding on a file never coded', last('GET', '/small.txt', 'Accept-Encoding: gzip, br\r\n'), 1],
    ['a query', last('GET', '/small.txt?v=12&x=%2F'), 1],
    ['a query on a folder', last('GET', '/docs/?x=1'), 0],
    [
      'a browser-like head',
      last(
        'GET',
        '/docs/index.html',
        'User-Agent: Mozilla/5.0\r\nAccept: text/html\r\nReferer: http://x/\r\n',
      ),
      1,
    ],
    ['a file whose chunk is lost (503)', last('GET', '/damaged.txt'), 1],
    [
      'a file whose chunk is lost, asked for as a page',
      last('GET', '/damaged.txt', 'Accept: text/html\r\n'),
      1,
    ],
    ['a miss (404, node:http)', last('GET', '/nope.txt'), 0],
    ['a miss asked for as a page', last('GET', '/nope.txt', 'Accept: text/html\r\n'), 0],
    ['a directory redirect', last('GET', '/docs'), 0],
    ['a directory index', last('GET', '/docs/'), 0],
    ['a large file, streamed', last('GET', '/large.bin'), 0],
    ['a range', last('GET', '/small.txt', 'Range: bytes=1-2\r\n'), 0],
    ['If-Match that fails → 412', last('GET', '/small.txt', 'If-Match: "nope"\r\n'), 0],
    ['a percent-encoded path', last('GET', '/small%2etxt'), 0],
    ['a traversal', last('GET', '/../small.txt'), 0],
    ['a POST', last('POST', '/small.txt', 'Content-Length: 0\r\n'), 0],
    ['HTTP/1.0', 'GET /small.txt HTTP/1.0\r\nHost: x\r\n\r\n', 1],
    ['HTTP/1.0 without Host (node:http)', 'GET /small.txt HTTP/1.0\r\n\r\n', 0],
    [
      'HTTP/1.0 kept alive (as ab -k asks), up to a 304',
      'GET /small.txt HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'.repeat(2) +
        `HEAD /small.txt HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n` +
        `GET /small.txt HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nIf-None-Match: ${etag}\r\n\r\n` +
        'GET /small.txt HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n',
      4,
    ],
    [
      'a smuggling shape',
      last('GET', '/small.txt', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'),
      0,
    ],
    ['a bare LF', 'GET /small.txt HTTP/1.1\nHost: x\n\n', 0],
    ['a request pipelined after a close', last('GET', '/small.txt') + req('GET', '/docs/index.html'), 1],
    ['a miss pipelined after a close', last('GET', '/small.txt') + req('GET', '/nope.txt'), 1],
    [
      'a pipeline: the lane, then node:http from the first it declines on',
      req('GET', '/small.txt') +
        req('HEAD', '/small.txt') +
        req('GET', '/nope.txt') +
        req('GET', '/small.txt') +
        last('GET', '/mid.bin'),
      2,
    ],
  ];
  it.each(cases)('answers as node:http does: %s', async (_what, bytes, answered) => {
    const [a, b] = await Promise.all([exchange(lane.port, bytes), exchange(plain.port, bytes)]);
    expect(sansDate(a.bytes)).toBe(sansDate(b.bytes));
    expect(a.bytes.startsWith('HTTP/1.1 ')).toBe(true);
    expect(lane.laneAnswers).toBe(answered);
  });

  it('dates each answer to its second, though it made the answer whole in an earlier one', async () => {
    const at = Date.UTC(2030, 0, 1, 0, 0, 0, 500);
    const spy = vi.spyOn(Date, 'now').mockReturnValue(at);
    try {
      const first = await exchange(lane.port, last('GET', '/small.txt'));
      spy.mockReturnValue(at + 1000);
      const second = await exchange(lane.port, last('GET', '/small.txt'));
      expect(first.bytes).toContain('\r\nDate: Tue, 01 Jan 2030 00:00:00 GMT\r\n');
      expect(second.bytes).toContain('\r\nDate: Tue, 01 Jan 2030 00:00:01 GMT\r\n');
      expect(second.bytes.endsWith('\r\n\r\nsmall\n')).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers as node:http does, request for request, in 400 conversations made at random', async () => {
    // A seeded generator (mulberry32), so a failure names a case that can be run again.
    let seed = 0x5eed;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const methods = ['GET', 'GET', 'GET', 'HEAD', 'get', 'POST', 'OPTIONS', 'GET  '];
    const targets = [
      '/small.txt',
      '/small.txt?v=1',
      '/empty.txt',
      '/mid.bin',
      '/large.bin',
      '/docs',
      '/docs/',
      '/docs/index.html',
      '/nope',
      '/%73mall.txt',
      '/small.txt#x',
      '//small.txt',
      '/small.txt/',
      '/../small.txt',
      '/small.txt?a"b',
      'http://x/small.txt',
      '*',
      '/small.txt\\',
      '/sm\xe9ll.txt',
    ];
    const versions = [
      'HTTP/1.1',
      'HTTP/1.1',
      'HTTP/1.1',
      'HTTP/1.0',
      'HTTP/1.0',
      'HTTP/1.2',
      'HTTP/2.0',
      'http/1.1',
    ];
    const fields = [
      'Host: x',
      'Host: y',
      `If-None-Match: ${etag}`,
      'If-None-Match: "x", *',
      'If-None-Match: W/"x"',
      'If-Modified-Since: Tue, 16 Jan 2024 00:00:00 GMT',
      'If-Modified-Since: Sun, 14 Jan 2024 00:00:00 GMT',
      'Accept-Encoding: gzip',
      'Accept: text/html',
      'Range: bytes=0-1',
      'If-Range: "x"',
      'If-Match: *',
      'If-Match: "nope"',
      'If-Unmodified-Since: Sun, 14 Jan 2024 00:00:00 GMT',
      'Connection: keep-alive',
      'Connection: upgrade',
      'Content-Length: 0',
      'X-Junk: a\x7fb',
      'User-Agent: caf\xe9',
      'X-Tab:\tv\t',
      'X-Fold: a\r\n b',
      'Expect: 100-continue',
      'Upgrade: h2c',
      'Bad Name: v',
      'X-Empty:',
    ];
    const plainTargets = ['/small.txt', '/small.txt?v=1', '/empty.txt', '/mid.bin', '/docs/index.html'];
    const plainFields = fields.filter(
      (f) =>
        /^(If-|Accept|User-Agent: c|X-Tab|X-Empty|Connection: k)/.test(f) && !/^If-(Range|Match)/.test(f),
    );
    // Most heads are of the kind the lane answers, with a header or two it reads or passes
    // over; the rest are drawn from everything, good and bad.
    const head = () => {
      // A request line of the lane's kind with headers it reads or passes over; the same line
      // with any headers; or anything at all.
      const kind = rand();
      const goodLine = kind < 0.8;
      const eol = !goodLine && rand() < 0.1 ? '\n' : '\r\n';
      const lines = goodLine
        ? [
            `${pick(['GET', 'HEAD'])} ${pick(plainTargets)} ${rand() < 0.2 ? 'HTTP/1.0' : 'HTTP/1.1'}`,
            'Host: x',
          ]
        : [`${pick(methods)} ${pick(targets)} ${pick(versions)}`];
      if (!goodLine && rand() < 0.9) lines.push('Host: x');
      const n = Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) lines.push(pick(kind < 0.4 ? plainFields : fields));
      return lines.join(eol) + eol + eol;
    };
    // Each reader asks its heads one at a time, as most clients do; the pipelines above
    // cover heads that come in one read. (node:http's own answer to a bad head right behind
    // one it is still answering depends on timing: a bare close, or its 400.)
    const readers = Array.from({ length: 400 }, () =>
      Array.from({ length: 1 + Math.floor(rand() * 3) }, head),
    );
    let answeredByLane = 0;
    for (let i = 0; i < readers.length; i += 20) {
      const batch = readers.slice(i, i + 20);
      const before = lane.laneAnswers;
      const got = await Promise.all(
        batch.map((r) => Promise.all([converse(lane.port, r), converse(plain.port, r)])),
      );
      answeredByLane += lane.laneAnswers - before;
      for (const [j, [a, b]] of got.entries())
        expect(sansDate(a), `reader ${i + j}: ${JSON.stringify(batch[j])}`).toBe(sansDate(b));
    }
    // The lane had its share of them: the comparison is of its answers, not only node:http's.
    expect(answeredByLane).toBeGreaterThan(200);
  }, 60_000);

  it('hands over a head cut across reads, with the bytes read so far', async () => {
    const bytes = last('GET', '/small.txt');
    // The rest goes out once the server has read the first part on its own.
    const firstRead = new Promise<void>((resolve) =>
      lane.server.once('connection', (s: Socket) => s.once('data', () => resolve())),
    );
    const cut = await exchange(lane.port, bytes.slice(0, 20), firstRead, bytes.slice(20));
    expect(sansDate(cut.bytes)).toBe(sansDate((await exchange(plain.port, bytes)).bytes));
    expect(lane.laneAnswers).toBe(0);
  });

  it('says keep-alive as node:http does, then closes on the request limit (5 here)', async () => {
    const six = Array.from({ length: 6 }, () => req('GET', '/small.txt')).join('');
    const { bytes } = await exchange(lane.port, six);
    const heads = bytes.split('HTTP/1.1 200 OK').slice(1);
    expect(heads).toHaveLength(5);
    for (const h of heads.slice(0, 4))
      expect(h).toContain('\r\nConnection: keep-alive\r\nKeep-Alive: timeout=1, max=5\r\n\r\n');
    expect(heads[4]).toContain('\r\nConnection: close\r\n\r\n');
    expect(lane.laneAnswers).toBe(5);
  });

  it('closes an idle connection after keepAliveTimeout, and a silent one after headersTimeout', async () => {
    const [idle, silent, nodeSilent] = await Promise.all([
      exchange(lane.port, req('GET', '/small.txt')),
      exchange(lane.port),
      exchange(plain.port),
    ]);
    expect(idle.bytes).toContain('HTTP/1.1 200 OK');
    expect(idle.bytes).not.toContain('408');
    for (const { ms } of [idle, silent]) {
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(3_000);
    }
    // A connection that sent nothing is answered 408, as node:http answers it.
    expect(silent.bytes).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(silent.bytes).toBe(nodeSilent.bytes);
  });

  it("tells a silent connection's timeout to the server's clientError listener, as node:http does", async () => {
    const withAnswerer = async (useLane: boolean) => {
      const s = await serve(useLane);
      extra.push(s);
      s.server.on(
        'clientError',
        clientErrorAnswerer({ headers: () => ({ 'X-Outpost-Replica': 'uk-london' }) }),
      );
      return (await exchange(s.port)).bytes.replace(/\r\nDate: [^\r]+/, '');
    };
    const [viaLane, viaNode] = await Promise.all([withAnswerer(true), withAnswerer(false)]);
    expect(viaLane).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(viaLane).toContain('\r\nX-Outpost-Replica: uk-london\r\n');
    expect(viaLane).toBe(viaNode);
  });

  it('reads no further while a reader does not take its answers', async () => {
    const server = await serve(true, { ...LIMITS, maxRequestsPerSocket: 0 });
    extra.push(server);
    let peak = 0;
    let serverSide: Socket | undefined;
    server.server.on('connection', (s: Socket) => {
      serverSide = s;
    });
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.pause();
    // 400 answers of 200 KiB: 80 MiB if all were written at once.
    socket.write(Array.from({ length: 400 }, () => req('GET', '/mid.bin')).join(''));
    const watch = setInterval(() => {
      peak = Math.max(peak, serverSide?.writableLength ?? 0);
    }, 5);
    // The lane stops reading once the answers it wrote wait on the reader.
    const paused = Date.now() + 5_000;
    while (!serverSide?.isPaused() && Date.now() < paused) await new Promise((r) => setTimeout(r, 5));
    expect(serverSide?.isPaused()).toBe(true);
    expect(server.laneAnswers).toBeLessThan(40);
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    socket.resume();
    const deadline = Date.now() + 20_000;
    while (server.laneAnswers < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    clearInterval(watch);
    expect(server.laneAnswers).toBe(400);
    // At most a couple of answers wait in memory at a time, whatever was asked for.
    expect(peak).toBeLessThan(2 * MID.length + 64 * 1024);
    while (received < 400 * MID.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toBeGreaterThan(400 * MID.length);
    socket.destroy();
  });

  it('tells of each answer once the kernel has it, for the access log', async () => {
    await exchange(lane.port, req('GET', '/small.txt', 'User-Agent: ua\r\n') + last('HEAD', '/small.txt'));
    expect(
      lane.answered.map((a) => [a.head.method, a.answer.status, a.answer.body?.length, a.aborted]),
    ).toStrictEqual([
      ['GET', 200, SMALL.length, false],
      ['HEAD', 200, undefined, false],
    ]);
    expect(lane.answered[0]!.head.userAgent).toBe('ua');
    expect(lane.answered[0]!.answer.version).toBe(7);
    expect(lane.answered[0]!.remote).toBe('127.0.0.1');
  });

  it('closes its idle connections once quiet for a look, as the stop sweeps them (node:http its own too)', async () => {
    const server = await serve(true, { ...LIMITS, keepAliveTimeoutMs: 60_000 });
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(req('GET', '/small.txt'));
    await once(socket, 'data');
    const closed = once(socket, 'close');
    const started = Date.now();
    const stopped = new Promise((r) => server.server.close(r));
    // A connection is closed once nothing came on it between two looks: its next request may be
    // on its way at the first (closed then, the kernel answered it with a reset).
    const sweep = setInterval(() => server.server.closeIdleConnections(), 50);
    await stopped;
    clearInterval(sweep);
    await closed;
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('is put only on a new node:http server', () => {
    const server = createServer();
    server.on('connection', () => {});
    expect(() => installDirectLane(server, { answer: () => null, limits: LIMITS })).toThrow(
      /new node:http server/,
    );
  });
});
