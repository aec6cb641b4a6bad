import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { RawConnection, type RawResponse } from './helpers/raw-http.js';

/*
 * The replica's HTTP edge against RFC 9110/9112, over raw sockets so every byte goes out as
 * written: the absolute-form, one response per request, the replica's headers and a problem
 * body on every refusal, CONNECT, HTTP-dates, a Last-Modified never after Date, the directory
 * redirect, and qvalues.
 */

const REPLICA = 'conf-x';
const TEXT = `${'Outpost keeps verified copies of a content tree in every office.\n'.repeat(40)}`;
const FILES: Record<string, string> = {
  'small.txt': 'small bytes\n',
  'docs/index.html': '<h1>docs</h1>\n',
  'future.txt': 'touched -d 2035\n',
  'guide.txt': TEXT,
};
// touch -d 2035: a clock set wrong where the file was written.
const FUTURE = Date.UTC(2035, 0, 1) / 1000;

describe('HTTP conformance of the replica', () => {
  let fleet: Fleet;
  let url: string;
  const open: RawConnection[] = [];

  const conn = async () => {
    const c = await RawConnection.open(url);
    open.push(c);
    return c;
  };

  /** Writes `req` on a fresh connection; every response until the close (or 3 s of quiet). */
  const all = async (req: string, end = false): Promise<{ responses: RawResponse[]; closed: boolean }> => {
    const c = await conn();
    c.write(req);
    if (end) c.socket.end();
    const responses: RawResponse[] = [];
    for (;;) {
      const r = await c.readResponse({ timeoutMs: 3000 }).catch(() => null);
      if (!r) break;
      responses.push(r);
    }
    return { responses, closed: c.closed };
  };

  /** The replica's headers and a problem body, on an answer the replica gave. */
  const expectReplicaProblem = (res: RawResponse | undefined, status: number) => {
    expect(res?.status).toBe(status);
    expect(res!.headers['x-outpost-replica']).toBe(REPLICA);
    expect(res!.headers['x-outpost-version']).toMatch(/^[1-9]\d*$/);
    expect(res!.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res!.body.toString())).toMatchObject({ status });
  };

  beforeAll(async () => {
    fleet = new Fleet({ files: FILES, replicas: [] });
    utimesSync(join(fleet.content, 'future.txt'), FUTURE, FUTURE);
    await fleet.startMaster();
    await fleet.startReplica(REPLICA, 'uk');
    url = fleet.replica(REPLICA).url;
    await fleet.expectConverged();
  });

  afterEach(() => {
    for (const c of open.splice(0)) c.destroy();
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  describe('the absolute-form request target (RFC 9112 §3.2.2: a server MUST accept it)', () => {
    it('serves the file its path names', async () => {
      const c = await conn();
      const port = new URL(url).port;
      c.get(`http://127.0.0.1:${port}/small.txt`);
      const res = await c.readResponse();
      expect(res?.status).toBe(200);
      expect(res!.body.toString()).toBe(FILES['small.txt']);
    });

    it('with a query, a directory, and any host', async () => {
      const c = await conn();
      c.get('https://elsewhere.example/small.txt?v=2');
      expect((await c.readResponse())?.body.toString()).toBe(FILES['small.txt']);
      c.get('http://x/docs/');
      expect((await c.readResponse())?.body.toString()).toBe(FILES['docs/index.html']);
    });

    it('and its path checked as any other', async () => {
      const c = await conn();
      c.get('http://x/../secret.txt');
      expect((await c.readResponse())?.status).toBe(400);
    });

    it("reaches the replica's own endpoints too", async () => {
      const c = await conn();
      c.get('http://x/_outpost/healthz');
      expect((await c.readResponse())?.status).toBe(200);
      c.get('http://x/_outpost/api/v1/status');
      const res = await c.readResponse();
      expect(res?.status).toBe(200);
      expect(JSON.parse(res!.body.toString())).toMatchObject({ role: 'replica' });
    });
  });

  // The request guard answers a head node:http handed over; the parser then fails on what
  // follows it. One request, one response: a second is read as the answer to the next request.
  describe('one response per request', () => {
    it.each([
      ['Transfer-Encoding: gzip', 'gzip', false],
      ['Transfer-Encoding: gzip, then the end of stream', 'gzip', true],
      ['Transfer-Encoding: identity', 'identity', false],
      ['Transfer-Encoding: identity, then the end of stream', 'identity', true],
    ])('%s → one 400 and a close', async (_name, te, end) => {
      const { responses, closed } = await all(
        `GET /small.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\nabc`,
        end,
      );
      expect(responses.map((r) => r.status)).toEqual([400]);
      expectReplicaProblem(responses[0], 400);
      expect(closed).toBe(true);
    });
  });

  // URLs glued as "$BASE/$FILE" with a base that ends in a slash; a client that sends its fragment.
  it.each([
    ['//small.txt', 'small.txt'],
    ['/docs//index.html', 'docs/index.html'],
    ['/small.txt#top', 'small.txt'],
  ])('serves %s as nginx does (merged slashes, no fragment): %s', async (target, file) => {
    const c = await conn();
    c.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\nHEAD ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const got = await c.readResponse();
    expect(got?.status).toBe(200);
    expect(got!.body.toString()).toBe(FILES[file]);
    expect((await c.readResponse({ head: true }))?.status).toBe(200);
  });

  describe('every refusal says which replica and version gave it, with a problem body', () => {
    it.each([
      ['an unknown method', 'FOO /small.txt HTTP/1.1\r\nHost: x\r\n\r\n', 405],
      ["Varnish's BAN", 'BAN /small.txt HTTP/1.1\r\nHost: x\r\n\r\n', 405],
      ['HTTP/1.2', 'GET /small.txt HTTP/1.2\r\nHost: x\r\n\r\n', 505],
      ['HTTP/2.0 over HTTP/1', 'GET /small.txt HTTP/2.0\r\nHost: x\r\n\r\n', 505],
      ['raw UTF-8 bytes in the target', 'GET /caf\xc3\xa9.txt HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['two Host headers', 'GET /small.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400],
      ['no Host on HTTP/1.1', 'GET /small.txt HTTP/1.1\r\n\r\n', 400],
      ['a bare LF', 'GET /small.txt HTTP/1.1\nHost: x\n\n', 400],
      ['Expect: foo', 'GET /small.txt HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n', 417],
    ])('%s', async (_name, req, status) => {
      const { responses } = await all(req);
      expect(responses).toHaveLength(1);
      expectReplicaProblem(responses[0], status);
      // As every answer: a Date (RFC 9110 §6.6.1), never stored, never sniffed.
      expect(responses[0]!.headers.date).toMatch(/ GMT$/);
      expect(responses[0]!.headers['cache-control']).toBe('no-store');
      expect(responses[0]!.headers['x-content-type-options']).toBe('nosniff');
      if (status === 405) expect(responses[0]!.headers.allow).toBe('GET, HEAD');
    });

    it('an HTTP/1.0 request without Host is still served', async () => {
      const { responses } = await all('GET /small.txt HTTP/1.0\r\n\r\n');
      expect(responses[0]?.status).toBe(200);
      expect(responses[0]!.body.toString()).toBe(FILES['small.txt']);
    });
  });

  it('CONNECT → 405 with Allow: GET, HEAD and the replica headers, then a close', async () => {
    const { responses, closed } = await all(
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    expect(responses).toHaveLength(1);
    expectReplicaProblem(responses[0], 405);
    expect(responses[0]!.headers.allow).toBe('GET, HEAD');
    expect(closed).toBe(true);
  });

  // RFC 9110 §13.1.3/§13.1.4: a value that is no HTTP-date MUST be ignored. Date.parse reads
  // `1` as 2001 (before the mtime: 412) and `2030` as a date after it (304).
  describe('conditional requests ignore what is no HTTP-date', () => {
    it.each([
      ['If-Unmodified-Since', '1'],
      ['If-Unmodified-Since', '2001'],
      ['If-Modified-Since', '2030'],
      ['If-Modified-Since', '12/31/2030'],
      ['If-Modified-Since', '2030-12-31T00:00:00Z'],
    ])('%s: %s → 200', async (name, value) => {
      const res = await get(`${url}/small.txt`, { [name]: value });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe(FILES['small.txt']);
    });

    it('and still read every HTTP-date format', async () => {
      const res = await get(`${url}/small.txt`);
      const lastModified = new Date(String(res.headers['last-modified']));
      const asctime = lastModified
        .toUTCString()
        .replace(
          /^(\w{3}), (\d{2}) (\w{3}) (\d{4}) (\S+) GMT$/,
          (_m, d, dd, mon, y, t) => `${d} ${mon} ${dd.replace(/^0/, ' ')} ${t} ${y}`,
        );
      for (const date of [lastModified.toUTCString(), asctime]) {
        expect((await get(`${url}/small.txt`, { 'if-modified-since': date })).status, date).toBe(304);
      }
    });
  });

  it('Last-Modified is never later than Date (RFC 9110 §8.8.2.1), for a file touched into 2035', async () => {
    const res = await get(`${url}/future.txt`);
    expect(res.status).toBe(200);
    const lastModified = Date.parse(String(res.headers['last-modified']));
    const date = Date.parse(String(res.headers.date));
    expect(lastModified).toBeLessThanOrEqual(date);
    expect(lastModified).toBeLessThan(FUTURE * 1000);
    // A past mtime is kept as it is.
    const small = await get(`${url}/small.txt`);
    expect(Date.parse(String(small.headers['last-modified']))).toBeLessThanOrEqual(Date.now());
  });

  describe('the directory redirect', () => {
    it('keeps the query, as nginx does', async () => {
      const res = await get(`${url}/docs?x=1&y=2`);
      expect(res.status).toBe(301);
      expect(res.headers.location).toBe('/docs/?x=1&y=2');
    });

    it('is revalidated (Cache-Control: no-cache), so it is not kept once /docs is a file', async () => {
      const res = await get(`${url}/docs`);
      expect(res.status).toBe(301);
      expect(res.headers['cache-control']).toBe('no-cache');
    });
  });

  describe('Accept-Encoding qvalues (RFC 9110 §12.4.2)', () => {
    it('a coding whose q is no qvalue is not served', async () => {
      // The coded copies are made in the background: wait until br is served at all.
      await expect
        .poll(
          async () =>
            (await get(`${url}/guide.txt`, { 'accept-encoding': 'br' })).headers['content-encoding'],
          {
            timeout: 10_000,
          },
        )
        .toBe('br');
      for (const ae of ['br;q=abc', 'br;q=1.5', 'br;q=']) {
        const res = await get(`${url}/guide.txt`, { 'accept-encoding': ae });
        expect(res.headers['content-encoding'], ae).toBeUndefined();
        expect(res.body.toString(), ae).toBe(TEXT);
      }
    });
  });

  it('the replica still serves after all of that', async () => {
    const res = await get(`${url}/small.txt`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(FILES['small.txt']);
  });
});
