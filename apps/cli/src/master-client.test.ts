import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RollbackResponseSchema, VersionListSchema } from '@outpost/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { UnexpectedAnswerError, UsageError } from './errors.js';
import {
  apiUrl,
  callMaster,
  DEFAULT_TIMEOUT_MS,
  describeRequestFailure,
  masterUrl,
  parseAnswer,
  timeoutOf,
} from './master-client.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A local HTTP server answering with `handler`; resolves to its URL. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await once(server.listen(0, '127.0.0.1'), 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('masterUrl and apiUrl', () => {
  it('joins API paths under the master URL, keeping a path prefix (a proxy’s)', () => {
    const at = (m: string, p: string) => apiUrl(masterUrl(m, 'status'), p).href;
    expect(at('http://127.0.0.1:7070', '/status')).toBe('http://127.0.0.1:7070/_outpost/api/v1/status');
    expect(at('http://127.0.0.1:7070/', '/status')).toBe('http://127.0.0.1:7070/_outpost/api/v1/status');
    expect(at('https://hq.example.com/outpost//', '/versions')).toBe(
      'https://hq.example.com/outpost/_outpost/api/v1/versions',
    );
    expect(at('http://hq:7070', `/replicas/${encodeURIComponent('a b/c')}`)).toBe(
      'http://hq:7070/_outpost/api/v1/replicas/a%20b%2Fc',
    );
  });

  it.each([
    'http://127.0.0.1:7070?x=1',
    'http://127.0.0.1:7070/?x=1',
    'http://127.0.0.1:7070?',
    'http://127.0.0.1:7070#top',
    'https://hq.example.com/outpost/#',
  ])('refuses %s: it used to ask for /?x=1/_outpost/api/v1/status', (raw) => {
    expect(() => masterUrl(raw, 'status')).toThrow(UsageError);
    expect(() => masterUrl(raw, 'status')).toThrow(
      `--master ${raw}: a master's URL takes no query (?…) or fragment (#…)`,
    );
  });

  it.each([
    ['http://127.0.0.1:7070/_outpost', 'http://127.0.0.1:7070/'],
    ['http://127.0.0.1:7070/_outpost/', 'http://127.0.0.1:7070/'],
    ['http://127.0.0.1:7070/_outpost/api/v1', 'http://127.0.0.1:7070/'],
    ['http://127.0.0.1:7070/_outpost/api/v1//', 'http://127.0.0.1:7070/'],
    ['https://hq.example.com/outpost/_outpost', 'https://hq.example.com/outpost'],
  ])('takes the admin base path off %s, as the user meant %s', (raw, meant) => {
    expect(masterUrl(raw, 'status').href).toBe(meant);
    expect(apiUrl(masterUrl(raw, 'status'), '/status').href).toBe(
      `${meant.replace(/\/$/, '')}/_outpost/api/v1/status`,
    );
  });

  it.each([
    'http://127.0.0.1:7070/_outpost/dashboard',
    'http://127.0.0.1:7070/_outpost/api/v1/status',
    'http://127.0.0.1:7070/_outpost/_outpost',
    'http://127.0.0.1:7070/_outpost/api',
  ])('refuses %s, naming the form it wants', (raw) => {
    expect(() => masterUrl(raw, 'status')).toThrow(UsageError);
    expect(() => masterUrl(raw, 'status')).toThrow(
      `--master ${raw}: give the master's URL without /_outpost/… (the API path is added to it), e.g. http://hq.example.com:7070`,
    );
  });

  it('refuses a missing URL, a non-URL and another scheme, in one line each', () => {
    expect(() => masterUrl(undefined, 'versions')).toThrow('versions needs --master URL (or OUTPOST_MASTER)');
    expect(() => masterUrl('', 'status')).toThrow('status needs --master URL');
    expect(() => masterUrl('127.0.0.1:7070', 'status')).toThrow(
      '--master 127.0.0.1:7070: not a URL: give it with its scheme, as http://127.0.0.1:7070',
    );
    for (const raw of ['http://127.0.0.1:99999', 'http://[::1', 'http://::1:7070'])
      expect(() => masterUrl(raw, 'status')).toThrow(
        `--master ${raw}: not a valid URL (a port is 1 to 65535, an IPv6 address goes in [ ])`,
      );
    expect(() => masterUrl('ftp://hq', 'status')).toThrow(
      '--master ftp://hq: not an http:// or https:// URL',
    );
  });
});

describe('timeoutOf', () => {
  it('reads --timeout-ms in decimal digits, or the default', () => {
    expect(timeoutOf({}, DEFAULT_TIMEOUT_MS)).toBe(30_000);
    expect(timeoutOf({ timeoutMs: '250' }, DEFAULT_TIMEOUT_MS)).toBe(250);
    for (const timeoutMs of ['', '0', '1e3', '0x10', '-5', '1.5', '86400001'])
      expect(() => timeoutOf({ timeoutMs }, DEFAULT_TIMEOUT_MS), timeoutMs).toThrow(UsageError);
  });
});

describe('callMaster', () => {
  it('gives up on a master that takes the connection and never answers: one line, no hang', async () => {
    // Accepts, reads the request, says nothing (a hung process, a proxy holding it).
    const url = await serve(() => {});
    const lines: string[] = [];
    const started = Date.now();
    const res = await callMaster('status', { master: url }, undefined, '/status', {
      timeoutMs: 300,
      write: (l) => void lines.push(l),
    });
    expect(res).toEqual({ ok: false, status: 0 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(lines).toEqual([
      `outpost: the master at ${url} did not answer within 0.3 s (--timeout-ms 300): is it hung or overloaded, or is a proxy in between holding the request?\n`,
    ]);
  });

  it('gives up on a body that trickles in for longer than the timeout', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
    });
    const lines: string[] = [];
    const res = await callMaster('versions', { master: url }, undefined, '/versions', {
      timeoutMs: 400,
      afterTimeout: 'it may have gone through',
      write: (l) => void lines.push(l),
    });
    expect(res.ok).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^outpost: the master at .* did not answer within 0\.4 s .*; it may have gone through\n$/,
    );
  });

  it('asks for the API path under the URL, not after a query', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(req.url!);
      res.end('[]');
    });
    const res = await callMaster('versions', { master: `${url}/prefix/` }, 'tok', '/versions');
    expect(res).toEqual({ ok: true, body: [] });
    expect(seen).toEqual(['/prefix/_outpost/api/v1/versions']);
  });

  it('asks for the API once under a URL given with the admin base path, where it was doubled into a 404', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(req.url!);
      res.end('[]');
    });
    for (const master of [`${url}/_outpost`, `${url}/_outpost/api/v1/`])
      expect(await callMaster('versions', { master }, 'tok', '/versions')).toEqual({ ok: true, body: [] });
    expect(seen).toEqual(['/_outpost/api/v1/versions', '/_outpost/api/v1/versions']);
  });

  it('names itself in a User-Agent, so the warning of a client on the previous admin token can say what it is', async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers['user-agent']);
      res.end('{}');
    });
    await callMaster('status', { master: url }, 'tok', '/status');
    await callMaster('forget', { master: url }, undefined, '/replicas/x', { method: 'DELETE' });
    expect(seen).toEqual(['outpost-cli (status)', 'outpost-cli (forget)']);
  });

  it('says in one line that an https:// URL points at a plain HTTP port', async () => {
    const url = await serve((_req, res) => res.end('{}'));
    const https = url.replace('http:', 'https:');
    const lines: string[] = [];
    const res = await callMaster('status', { master: https }, undefined, '/status', {
      write: (l) => void lines.push(l),
    });
    expect(res.ok).toBe(false);
    expect(lines).toEqual([
      `outpost: cannot reach the master at ${https}: what answers there does not speak TLS (plain HTTP?); use --master ${url}\n`,
    ]);
    expect(lines[0]).not.toMatch(/ssl3_get_record|wrong version number|openssl/i);
  });
});

describe('callMaster sent to a replica', () => {
  it('says that --master names a replica, for a command the replica has no route for', async () => {
    const url = await serve((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/_outpost/api/v1/status') {
        res.end(JSON.stringify({ role: 'replica', name: 'uk-london', region: 'uk' }));
        return;
      }
      res.statusCode = 404;
      res.end(
        JSON.stringify({ title: 'Not Found', status: 404, detail: `no route for ${req.method} ${req.url}` }),
      );
    });
    const lines: string[] = [];
    const write = (l: string) => void lines.push(l);
    for (const [command, path, method] of [
      ['versions', '/versions', 'GET'],
      ['rollback', '/rollback', 'POST'],
      ['forget', '/replicas/uk-london', 'DELETE'],
    ] as const) {
      const res = await callMaster(command, { master: url }, 'tok', path, {
        method,
        ...(method === 'POST' ? { body: { to: 1 } } : {}),
        write,
      });
      expect(res).toEqual({ ok: false, status: 404 });
    }
    expect(lines).toEqual(
      Array(3).fill(
        `outpost: ${url} is replica uk-london (region uk), not a master: --master takes the master's URL\n`,
      ),
    );
  });

  it("keeps the master's own 404s as they are", async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/problem+json');
      res.end(JSON.stringify({ title: 'Not Found', status: 404, detail: 'version 9 is not kept' }));
    });
    const lines: string[] = [];
    await callMaster('rollback', { master: url }, undefined, '/rollback', {
      body: { to: 9 },
      write: (l) => void lines.push(l),
    });
    expect(lines).toEqual(['outpost: master answered 404: Not Found: version 9 is not kept\n']);
  });
});

describe('describeRequestFailure', () => {
  const master = 'https://hq:7070';
  const err = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('says what a TLS handshake with something else means', () => {
    for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'])
      expect(describeRequestFailure(err(code), master, 30_000)).toBe(
        'cannot reach the master at https://hq:7070: what answers there does not speak TLS (plain HTTP?); use --master http://hq:7070',
      );
    expect(
      describeRequestFailure(err('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify'), master, 1),
    ).toMatch(/its TLS certificate is not trusted here \(unable to verify; NODE_EXTRA_CA_CERTS/);
    expect(describeRequestFailure(err('UND_ERR_SOCKET', 'other side closed'), 'http://hq:7070', 1)).toBe(
      'cannot reach the master at http://hq:7070: other side closed (does it serve HTTPS? then --master https://hq:7070)',
    );
  });

  it('says a timeout as one, and keeps what the system said of other failures', () => {
    expect(describeRequestFailure(err('UND_ERR_HEADERS_TIMEOUT'), master, 30_000)).toMatch(
      /^the master at https:\/\/hq:7070 did not answer within 30 s \(--timeout-ms 30000\)/,
    );
    expect(describeRequestFailure(err('UND_ERR_BODY_TIMEOUT'), master, 1500)).toMatch(/within 1\.5 s/);
    const abort = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
    expect(describeRequestFailure(abort, master, 100)).toMatch(/did not answer within 0\.1 s/);
    expect(
      describeRequestFailure(
        err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
        'http://127.0.0.1:1',
        1,
      ),
    ).toBe(
      'cannot reach the master at http://127.0.0.1:1: connection refused (is it running, on that port?)',
    );
  });
});

describe('parseAnswer', () => {
  it("blames the master's answer, not the user's flags, when it has the wrong shape", () => {
    expect(() => parseAnswer(RollbackResponseSchema, { x: 1 }, 'http://hq:7070', '/rollback')).toThrow(
      UnexpectedAnswerError,
    );
    let message = '';
    try {
      parseAnswer(VersionListSchema, [{ version: 'one' }], 'http://hq:7070', '/versions');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /^the master at http:\/\/hq:7070 answered something unexpected for \/_outpost\/api\/v1\/versions: 0\.\w+: /,
    );
    expect(message).not.toContain('invalid options');
    expect(message).not.toContain('\n');
    expect(parseAnswer(VersionListSchema, [], 'http://hq:7070', '/versions')).toEqual([]);
  });
});
