import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@outpost/protocol';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AccessEntry,
  AccessLog,
  clfQuoted,
  clfTime,
  formatCombined,
  formatJson,
  wireText,
} from './access-log.js';

const entry = (over: Partial<AccessEntry> = {}): AccessEntry => ({
  time: Date.UTC(2026, 10, 27, 6, 5, 4),
  remote: '10.1.2.3',
  method: 'GET',
  url: '/docs/policy.md',
  httpVersion: '1.1',
  status: 200,
  bytes: 1234,
  referer: undefined,
  userAgent: 'curl/8.5.0',
  ms: 1.23456,
  version: '42',
  aborted: false,
  ...over,
});

describe('the combined line', () => {
  it("is nginx's default format, in UTC", () => {
    expect(formatCombined(entry())).toBe(
      '10.1.2.3 - - [27/Nov/2026:06:05:04 +0000] "GET /docs/policy.md HTTP/1.1" 200 1234 "-" "curl/8.5.0"\n',
    );
    expect(clfTime(Date.UTC(2027, 0, 9, 23, 59, 59))).toBe('09/Jan/2027:23:59:59 +0000');
  });

  it('escapes what could end a field or the line early, as nginx does', () => {
    expect(clfQuoted('a "quoted" \\ agent')).toBe('"a \\x22quoted\\x22 \\x5C agent"');
    expect(clfQuoted('line\nbreak\ttab')).toBe('"line\\x0Abreak\\x09tab"');
    // node:http hands a header over a byte a character: 'Zürich' in UTF-8 comes as 'ZÃ¼rich'.
    expect(clfQuoted('Z\u00c3\u00bcrich')).toBe('"Z\\xC3\\xBCrich"');
    expect(clfQuoted('')).toBe('"-"');
    const line = formatCombined(entry({ userAgent: 'x"\n1.2.3.4 - - [forged]', referer: 'http://r/' }));
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toContain('"http://r/" "x\\x22\\x0A1.2.3.4 - - [forged]"\n');
  });

  it('writes the bytes of the wire as \\xHH, each once, as nginx does', () => {
    // 'uaé' sent in UTF-8 (C3 A9), as node:http hands it over: two characters, one a byte.
    expect(clfQuoted('ua\u00c3\u00a9')).toBe('"ua\\xC3\\xA9"');
    expect(clfQuoted('http://r/\u00e9')).toBe('"http://r/\\xE9"');
    expect(formatCombined(entry({ url: '/caf\u00c3\u00a9' }))).toContain('"GET /caf\\xC3\\xA9 HTTP/1.1"');
  });

  it('shows a cut response with the body bytes it had sent, as nginx does', () => {
    expect(formatCombined(entry({ aborted: true, bytes: 65_536 }))).toContain('" 200 65536 "-"');
  });
});

describe('the json line', () => {
  it('adds the version served and the time taken, and flags a cut', () => {
    expect(JSON.parse(formatJson(entry()))).toEqual({
      time: '2026-11-27T06:05:04.000Z',
      remote: '10.1.2.3',
      method: 'GET',
      url: '/docs/policy.md',
      status: 200,
      bytes: 1234,
      ms: 1.235,
      version: 42,
      referer: null,
      userAgent: 'curl/8.5.0',
    });
    expect(JSON.parse(formatJson(entry({ aborted: true, version: undefined })))).toMatchObject({
      aborted: true,
      version: null,
    });
  });

  it('says the text a reader sent: UTF-8 bytes decoded once, other bytes as \\xHH', () => {
    const line = JSON.parse(
      formatJson(
        entry({ userAgent: 'ua\u00c3\u00a9', referer: 'http://r/\u00c3\u00a9', url: '/caf\u00c3\u00a9?q' }),
      ),
    );
    expect(line).toMatchObject({ userAgent: 'uaé', referer: 'http://r/é', url: '/café?q' });
    // A lone latin1 byte is no UTF-8: written as its byte, and a backslash then as one too.
    expect(wireText('a\\\u00e9')).toBe('a\\x5C\\xE9');
    expect(wireText('plain \\ ascii')).toBe('plain \\ ascii');
    expect(wireText(undefined)).toBeUndefined();
  });
});

describe('AccessLog', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-access-'));
  });
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const silent = pino({ level: 'silent' });

  it('refuses a file it cannot open, naming the flag', () => {
    const blocked = join(dir, 'file');
    new AccessLog(blocked, 'combined', silent).close();
    expect(() => new AccessLog(join(blocked, 'access.log'), 'combined', silent)).toThrow(ConfigError);
    expect(() => new AccessLog(join(blocked, 'access.log'), 'combined', silent)).toThrow(/^--access-log /);
  });

  it('keeps serving when the disk is full: says so, once, and drops the lines', async () => {
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => errors.push(l) });
    // /dev/full takes the open and refuses every write with ENOSPC, as a full disk does.
    const access = new AccessLog('/dev/full', 'combined', log);
    server = createServer((req, res) => {
      access.track(req, res);
      res.setHeader('content-length', 2);
      res.end('ok');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const once = () =>
      new Promise<number>((resolve, reject) =>
        request({ port, host: '127.0.0.1', path: '/' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end(),
      );
    // Enough lines to pass the 64 KiB a write gathers, several times over.
    for (let round = 0; round < 4; round++) {
      const statuses = await Promise.all(Array.from({ length: 400 }, once));
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    await access.close();
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({
      msg: 'cannot write the access log; its lines are dropped until it can',
      path: '/dev/full',
    });
    expect(errors[0]).toContain('ENOSPC');
  });

  it('writes a cut response with its client and the aborted mark', async () => {
    const path = join(dir, 'cut.log');
    const log = new AccessLog(path, 'json', silent);
    let cut!: () => void;
    const gone = new Promise<void>((r) => {
      cut = r;
    });
    server = createServer((req, res) => {
      log.track(req, res);
      res.on('close', () => cut());
      res.writeHead(200, { 'content-length': 10_000_000, 'x-outpost-version': '3' });
      res.write(Buffer.alloc(64 * 1024));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const req = request({ port, host: '127.0.0.1', path: '/big' }, (res) => {
      res.once('data', () => req.destroy());
    });
    req.on('error', () => undefined).end();
    await gone;
    await log.close();
    const line = JSON.parse(readFileSync(path, 'utf8').trim());
    expect(line).toMatchObject({
      url: '/big',
      status: 200,
      aborted: true,
      remote: '127.0.0.1',
      version: 3,
    });
    // The body bytes handed to the connection before the cut: the 64 KiB written, not 0.
    expect(line.bytes).toBe(64 * 1024);
  });

  it('writes the lines of responses cut as the server stops, which close after it did', async () => {
    const path = join(dir, 'stop.log');
    const log = new AccessLog(path, 'json', silent);
    let started!: () => void;
    const inFlight = new Promise<void>((r) => {
      started = r;
    });
    server = createServer((req, res) => {
      log.track(req, res);
      res.writeHead(200, { 'content-length': 10_000_000 });
      res.write(Buffer.alloc(16 * 1024), () => started());
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    // A reader that stopped reading: the response cannot end by itself.
    const req = request({ port, host: '127.0.0.1', path: '/slow' }, (res) => res.pause());
    req.on('error', () => undefined).end();
    await inFlight;
    // As the replica stops: the drain ends, the connections are cut, then the log is closed.
    const s = server;
    server = undefined;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
    await log.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ url: '/slow', status: 200, aborted: true });
  });

  it('writes the request target as received, before the server rewrites it', async () => {
    const path = join(dir, 'target.log');
    const log = new AccessLog(path, 'combined', silent);
    server = createServer((req, res) => {
      log.track(req, res);
      // As the replica routes an absolute-form target by its path.
      req.url = '/docs/d3.txt?a=b';
      res.end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve, reject) =>
      request({ port, host: '127.0.0.1', path: 'http://other/docs/d3.txt?a=b' }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end(),
    );
    await log.close();
    expect(readFileSync(path, 'utf8')).toContain('"GET http://other/docs/d3.txt?a=b HTTP/1.1" 200 ');
  });

  it('writes a line for each response of a real server: bytes, HEAD, and the version header', async () => {
    const path = join(dir, 'logs', 'access.log');
    const log = new AccessLog(path, 'json', silent);
    server = createServer((req, res) => {
      log.track(req, res);
      res.setHeader('x-outpost-version', '7');
      res.setHeader('content-length', 5);
      res.end(req.method === 'HEAD' ? undefined : 'hello');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    for (const method of ['GET', 'HEAD']) {
      await new Promise<void>((resolve, reject) =>
        request({ port, host: '127.0.0.1', method, path: '/a', headers: { 'user-agent': 'test' } }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end(),
      );
    }
    await log.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.method, l.status, l.bytes, l.version, l.userAgent, l.remote])).toEqual([
      ['GET', 200, 5, 7, 'test', '127.0.0.1'],
      ['HEAD', 200, 0, 7, 'test', '127.0.0.1'],
    ]);
  });
});
