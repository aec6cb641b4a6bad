import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { RawConnection } from './helpers/raw-http.js';

/*
 * The replica's HTTP edge under hostile clients, over raw `net` sockets so every byte goes out
 * as written: request smuggling shapes, slowloris, oversized heads, keep-alive, methods, and a
 * couple of checks with the real `curl`.
 *
 * Limits under test are DEFAULT_LIMITS in apps/replica/src/http/server-limits.ts
 * (headersTimeout and keepAliveTimeout shortened to 3 s here, maxHeaderBytes 16 KiB, maxHeadersCount 100).
 * The CLI has no flag to shorten them, so the slowloris test waits out the real 10 s.
 */

const REPLICA = 'hard-x';
const TOKEN = `outpost-secret-${randomBytes(16).toString('hex')}`;
const FILES: Record<string, string> = {
  'legit.txt': 'legit bytes\n',
  'docs/index.html': '<h1>docs</h1>\n',
  'docs/guide.md': '# guide\n',
};
const execFileP = promisify(execFile);
const hasCurl = await execFileP('curl', ['--version']).then(
  () => true,
  () => false,
);

describe('HTTP hardening of the replica content server', () => {
  let fleet: Fleet;
  let url: string;
  const open: RawConnection[] = [];

  /** A raw connection, destroyed after the test whatever happens. */
  const conn = async () => {
    const c = await RawConnection.open(url);
    open.push(c);
    return c;
  };

  /** The replica still answers health checks and serves the tree. */
  const expectServing = async () => {
    expect((await get(`${url}/_outpost/healthz`)).status).toBe(200);
    const legit = await get(`${url}/legit.txt`);
    expect(legit.status).toBe(200);
    expect(legit.body.toString()).toBe(FILES['legit.txt']);
  };

  beforeAll(async () => {
    // Short timeouts so the slow-client tests take seconds, not the production defaults.
    fleet = await Fleet.start({
      files: FILES,
      replicas: [
        { name: REPLICA, region: 'uk', args: ['--keep-alive-ms', '3000', '--headers-timeout-ms', '3000'] },
      ],
    });
    url = fleet.replica(REPLICA).url;
    writeFileSync(join(fleet.dir.path, 'secret.txt'), `${TOKEN}\n`);
    writeFileSync(join(fleet.dir.path, `replica-${REPLICA}`, 'secret.txt'), `${TOKEN}\n`);
    await fleet.expectConverged();
  });

  afterEach(() => {
    for (const c of open.splice(0)) c.destroy();
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  describe('request smuggling', () => {
    // Each shape carries a smuggled second request after the first; the server must answer the
    // first with 400, close, and never answer the smuggled one.
    const SMUGGLED = 'GET /legit.txt HTTP/1.1\r\nHost: x\r\n\r\n';
    const head = (lines: string[]) => `GET /legit.txt HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\n\r\n`;
    const CASES: [string, string][] = [
      [
        'Content-Length with Transfer-Encoding: chunked',
        head(['Content-Length: 5', 'Transfer-Encoding: chunked']),
      ],
      [
        'Transfer-Encoding: chunked, then Content-Length',
        head(['Transfer-Encoding: chunked', 'Content-Length: 5']),
      ],
      ['two differing Content-Length headers', head(['Content-Length: 5', 'Content-Length: 6'])],
      ['Content-Length: 5, 6 in one header', head(['Content-Length: 5, 6'])],
      ['Content-Length: +5', head(['Content-Length: +5'])],
      ['Transfer-Encoding: chunked, identity', head(['Transfer-Encoding: chunked, identity'])],
      [
        'two Transfer-Encoding headers (chunked, identity)',
        head(['Transfer-Encoding: chunked', 'Transfer-Encoding: identity']),
      ],
      ['"Transfer-Encoding : chunked" (space before the colon)', head(['Transfer-Encoding : chunked'])],
      [
        '"Transfer-Encoding : chunked" with Content-Length',
        head(['Content-Length: 5', 'Transfer-Encoding : chunked']),
      ],
      // A tab after the colon is legal whitespace, so alone it is a valid chunked request; with a
      // Content-Length it is the CL.TE shape a front end that misreads the tab would let through.
      [
        '"Transfer-Encoding:\\tchunked" with Content-Length',
        head(['Content-Length: 5', 'Transfer-Encoding:\tchunked']),
      ],
      [
        '"Transfer-Encoding: xchunked" with Content-Length',
        head(['Content-Length: 5', 'Transfer-Encoding: xchunked']),
      ],
      [
        '"Transfer-Encoding: chunked " with a vertical tab',
        head(['Content-Length: 5', 'Transfer-Encoding: \x0bchunked']),
      ],
      ['header name with a NUL', head(['Transfer-Encoding\x00: chunked'])],
      ['bare LF line endings', 'GET /legit.txt HTTP/1.1\nHost: x\n\n'],
      ['a bare LF inside the head', 'GET /legit.txt HTTP/1.1\r\nHost: x\nTransfer-Encoding: chunked\r\n\r\n'],
      ['a header line folded (obs-fold)', head(['X-A: a', ' Transfer-Encoding: chunked'])],
      ['no Host header', 'GET /legit.txt HTTP/1.1\r\n\r\n'],
    ];

    it.each(CASES)('%s → 400, the connection closed, the smuggled request unanswered', async (_name, req) => {
      const c = await conn();
      const body = req.includes('chunked') ? '0\r\n\r\n' : '';
      c.write(req + body + SMUGGLED);
      const res = await c.readResponse({ timeoutMs: 3000 });
      expect(res?.status).toBe(400);
      expect(res!.body.toString()).not.toContain(FILES['legit.txt']!);
      await c.waitClosed(3000);
      expect(c.pending.toString('latin1'), 'nothing after the 400').toBe('');
    });

    // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in `chunked` MUST get 400
    // and a close. llhttp only raises that after handing the head over, so the replica's request
    // guard refuses it before anything is served.
    it('Transfer-Encoding: xchunked alone → 400 first', async () => {
      const c = await conn();
      c.write(`${head(['Transfer-Encoding: xchunked'])}0\r\n\r\n${SMUGGLED}`);
      const first = await c.readResponse({ timeoutMs: 3000 });
      await c.waitClosed(3000);
      expect(first?.status).toBe(400);
    });

    it('Transfer-Encoding: xchunked alone: the smuggled request is never answered', async () => {
      // One 400 and a close; never a response to what follows.
      const c = await conn();
      c.write(`${head(['Transfer-Encoding: xchunked'])}0\r\n\r\n${SMUGGLED}`);
      const statuses: number[] = [];
      for (
        let r = await c.readResponse({ timeoutMs: 3000 });
        r;
        r = await c.readResponse({ timeoutMs: 3000 })
      )
        statuses.push(r.status);
      expect(statuses.at(-1)).toBe(400);
      expect(statuses.length).toBeLessThanOrEqual(2);
      expect(c.closed).toBe(true);
    });

    // RFC 9112 §3.2: more than one Host MUST get 400 (node:http passes it on; the guard does not),
    // as a front end that picks the other one would see another request.
    it('two Host headers → 400', async () => {
      const c = await conn();
      c.write(head(['Host: y']));
      const res = await c.readResponse({ timeoutMs: 3000 });
      expect(res?.status).toBe(400);
    });

    it('a POST body shaped like a request is read as a body, not as a request', async () => {
      const c = await conn();
      const inner = 'GET /legit.txt HTTP/1.1\r\nHost: x\r\n\r\n';
      c.write(
        `POST /legit.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(inner)}\r\n\r\n${inner}` +
          'GET /docs/guide.md HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      const a = await c.readResponse();
      const b = await c.readResponse();
      expect(a?.status).toBe(405);
      expect(b?.status).toBe(200);
      expect(b!.body.toString()).toBe(FILES['docs/guide.md']);
    });

    // The contract: errors are RFC 9457 problem bodies, even for requests the parser refuses.
    it('a request refused by the HTTP parser gets a problem+json body', async () => {
      const c = await conn();
      c.write('GET /legit.txt HTTP/1.1\nHost: x\n\n');
      const res = await c.readResponse();
      expect(res?.status).toBe(400);
      expect(res!.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('keeps serving after all of that', expectServing);
  });

  describe('slow and idle clients', () => {
    // These two wait on real timers; they run side by side to keep the file short, so each
    // destroys its own socket (afterEach would close the other test's while it still runs).
    it.concurrent('slowloris: a head trickled a byte every 500 ms is cut off at headersTimeout (3 s here)', async ({
      expect,
      onTestFinished,
    }) => {
      const c = await RawConnection.open(url);
      onTestFinished(() => c.destroy());
      const started = Date.now();
      c.write('GET /legit.txt HTTP/1.1\r\nHost: x\r\n');
      const drip = 'X-Slow: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n';
      let i = 0;
      const timer = setInterval(() => c.write(drip[i++ % drip.length]!), 500);
      try {
        // While it drips, everyone else is served.
        const res = await get(`${url}/legit.txt`);
        expect(res.status).toBe(200);
        const ms = await c.waitClosed(6_000, started);
        expect(ms).toBeGreaterThanOrEqual(2_500);
        expect(ms).toBeLessThanOrEqual(6_000);
      } finally {
        clearInterval(timer);
      }
      // node answers 408 as it closes; nothing else ever came back.
      const res = await c.readResponse({ timeoutMs: 100 });
      expect(res === null || res.status === 408).toBe(true);
    }, 20_000);

    it.concurrent('an idle keep-alive connection is closed after keepAliveTimeout (3 s here)', async ({
      expect,
      onTestFinished,
    }) => {
      const c = await RawConnection.open(url);
      onTestFinished(() => c.destroy());
      c.get('/legit.txt');
      const res = await c.readResponse();
      const since = Date.now();
      expect(res?.status).toBe(200);
      expect(res!.headers.connection).toMatch(/keep-alive/i);
      const ms = await c.waitClosed(6_000, since);
      expect(ms).toBeGreaterThanOrEqual(2_500);
      expect(ms).toBeLessThanOrEqual(6_000);
    }, 15_000);
  });

  describe('oversized heads', () => {
    it('a 20 KiB header value → 431 and the connection closed', async () => {
      const c = await conn();
      c.write(`GET /legit.txt HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
      const res = await c.readResponse();
      expect(res?.status).toBe(431);
      await c.waitClosed(3000);
      await expectServing();
    });

    it('2,000 small headers (32 KiB of names and values) → 431 and closed', async () => {
      // node counts only the bytes of names and values (and the URL) against maxHeaderSize, not
      // the `: ` and CRLFs, so the head on the wire can be somewhat over 16 KiB and still pass:
      // 2,000 lines of `X-n: vv` (23 KiB on the wire, 14 KiB counted) are served 200.
      const c = await conn();
      const lines = Array.from({ length: 2000 }, (_, i) => `X-${i}: ${'v'.repeat(10)}\r\n`).join('');
      c.write(`GET /legit.txt HTTP/1.1\r\nHost: x\r\n${lines}\r\n`);
      expect((await c.readResponse())?.status).toBe(431);
      await c.waitClosed(3000);
    });

    it('150 header lines (over maxHeadersCount 100): refused (Node 24) or the extra ones ignored (Node 20); no 500', async () => {
      // The 150th line is a Range. Node 20 keeps only the first 100 headers, so it is dropped
      // and the whole file comes back with 200; Node 24 refuses the head with 431.
      const c = await conn();
      const filler = Array.from({ length: 148 }, (_, i) => `X-Filler-${i}: v\r\n`).join('');
      c.write(`GET /legit.txt HTTP/1.1\r\nHost: x\r\n${filler}Range: bytes=0-0\r\n\r\n`);
      const res = await c.readResponse();
      expect([200, 431]).toContain(res?.status);
      if (res?.status === 200) {
        expect(res.body.toString()).toBe(FILES['legit.txt']);
        // The same connection is still good.
        c.get('/docs/guide.md');
        expect((await c.readResponse())?.status).toBe(200);
      }
      await expectServing();
    });
  });

  describe('keep-alive', () => {
    it('pipelined requests on one connection get their responses in order', async () => {
      const c = await conn();
      const plan: [string, string, number, string | null][] = [
        ['GET', '/legit.txt', 200, FILES['legit.txt']!],
        ['GET', '/docs/guide.md', 200, FILES['docs/guide.md']!],
        ['HEAD', '/docs/guide.md', 200, ''],
        ['GET', '/nope.txt', 404, null],
        ['GET', '/../secret.txt', 400, null],
        ['GET', '/docs', 301, ''],
        ['GET', '/docs/', 200, FILES['docs/index.html']!],
        ['GET', '/_outpost/healthz', 200, null],
        ['GET', '/legit.txt', 200, FILES['legit.txt']!],
      ];
      c.write(plan.map(([m, t]) => `${m} ${t} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
      for (const [m, t, status, body] of plan) {
        const res = await c.readResponse({ head: m === 'HEAD' });
        expect(res?.status, `${m} ${t}`).toBe(status);
        if (body !== null) expect(res!.body.toString(), `${m} ${t}`).toBe(body);
        expect(res!.body.toString()).not.toContain(TOKEN);
      }
      expect(c.closed).toBe(false);
    });
  });

  describe('methods', () => {
    const refuse = async (method: string, body = '') => {
      const c = await conn();
      const len = body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
      c.write(`${method} /legit.txt HTTP/1.1\r\nHost: x\r\n${len}\r\n${body}`);
      return c.readResponse();
    };

    it.each([
      ['POST', 'a=b'],
      ['PUT', 'new content'],
      ['DELETE', ''],
      ['OPTIONS', ''],
      ['TRACE', ''],
      ['PATCH', 'x'],
      ['PROPFIND', ''],
    ])('%s → 405 with Allow: GET, HEAD and a problem body', async (method, body) => {
      const res = await refuse(method, body);
      expect(res?.status).toBe(405);
      expect(res!.headers.allow).toBe('GET, HEAD');
      expect(res!.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res!.body.toString())).toMatchObject({ status: 405 });
    });

    it('the file is unchanged after PUT and DELETE', async () => {
      const res = await get(`${url}/legit.txt`);
      expect(res.body.toString()).toBe(FILES['legit.txt']);
    });

    it('CONNECT: 405 with Allow, then the connection closed (a replica is no proxy)', async () => {
      const c = await conn();
      c.write(`CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`);
      const res = await c.readResponse({ timeoutMs: 3000 });
      await c.waitClosed(3000);
      expect(res?.status).toBe(405);
      expect(res?.headers.allow).toBe('GET, HEAD');
      await expectServing();
    });

    it('an unknown or lower-case method → 405 with Allow from the parser, closed', async () => {
      for (const m of ['get', 'FOO', 'G\x00ET']) {
        const c = await conn();
        c.write(`${m} /legit.txt HTTP/1.1\r\nHost: x\r\n\r\n`);
        const res = await c.readResponse();
        expect(res?.status, JSON.stringify(m)).toBe(405);
        expect(res?.headers.allow, JSON.stringify(m)).toBe('GET, HEAD');
        await c.waitClosed(3000);
      }
      await expectServing();
    });
  });

  describe.skipIf(!hasCurl)('with curl', () => {
    const curl = (args: string[]) => execFileP('curl', args, { timeout: 10_000, encoding: 'utf8' });

    it('curl -sI shows ETag, X-Outpost-Version, X-Outpost-Replica and Accept-Ranges', async () => {
      const { stdout } = await curl(['-sI', `${url}/legit.txt`]);
      const headers = new Map(
        stdout
          .split(/\r?\n/)
          .filter((l) => l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      expect(stdout).toMatch(/^HTTP\/1\.1 200/);
      expect(headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
      expect(headers.get('x-outpost-version')).toMatch(/^[1-9]\d*$/);
      expect(headers.get('x-outpost-replica')).toBe(REPLICA);
      expect(headers.get('accept-ranges')).toBe('bytes');
      expect(headers.get('content-length')).toBe(String(FILES['legit.txt']!.length));
    });

    it.each([
      '/../secret.txt',
      `/../replica-${REPLICA}/secret.txt`,
      '/%2e%2e/secret.txt',
      '/docs/../../secret.txt',
      '/..%2fsecret.txt',
    ])('curl --path-as-is %s → 400/404, never the secret', async (path) => {
      const { stdout } = await curl([
        '-s',
        '--path-as-is',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        `${url}${path}`,
      ]);
      const status = Number(stdout.slice(stdout.lastIndexOf('\n') + 1));
      expect([400, 404]).toContain(status);
      expect(stdout).not.toContain(TOKEN);
    });
  });

  it('the replica logged no errors and still serves', async () => {
    await expectServing();
    const errors = fleet.replica(REPLICA).logs.filter((l) => Number(l.level) >= 50);
    expect(errors.map((l) => l.msg)).toEqual([]);
  });
});
