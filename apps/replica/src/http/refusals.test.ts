import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerConnect, answerExpectation, refuse, replicaHeaders } from './refusals.js';

/*
 * The replica's own refusals on a real node:http server, wired as replica.ts wires them, with
 * raw bytes on the wire: each answer says who gave it and why, and closes when it must.
 */

let version = 5;
const answerer = { name: 'uk-london', version: () => version };

/** All that comes back for `bytes` until the server closes (or 2 s pass). */
function exchange(port: number, bytes: string): Promise<{ raw: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(Buffer.from(bytes, 'latin1')));
    let raw = '';
    s.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
    });
    s.on('error', () => {});
    const t = setTimeout(() => {
      s.destroy();
      resolve({ raw, closed: false });
    }, 2000);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ raw, closed: true });
    });
  });
}

/** The status, lower-cased headers and body of the one response in `raw`. */
function parse(raw: string) {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines)
    headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  const body = raw.slice(end + 4, end + 4 + Number(headers['content-length']));
  return {
    status: Number(statusLine!.split(' ')[1]),
    headers,
    body,
    responses: raw.split('HTTP/1.1 ').length - 1,
  };
}

describe('the replica refusals', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer({ requireHostHeader: false }, (req, res) => {
      if (req.headers['x-refuse']) refuse(res, 'refused for the test', answerer);
      else res.end('ok');
    });
    server.on('checkExpectation', (req, res) => answerExpectation(req, res, answerer));
    server.on('connect', (_req, socket) => answerConnect(socket, answerer));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('replicaHeaders reads the version at the time of asking', () => {
    version = 6;
    expect(replicaHeaders(answerer)).toEqual({ 'x-outpost-version': '6', 'x-outpost-replica': 'uk-london' });
    version = 5;
  });

  it('refuse: 400 with the replica headers and a problem body, then a close', async () => {
    const { raw, closed } = await exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\nX-Refuse: 1\r\n\r\n');
    const res = parse(raw);
    expect(res.status).toBe(400);
    expect(res.headers['x-outpost-version']).toBe('5');
    expect(res.headers['x-outpost-replica']).toBe('uk-london');
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'refused for the test',
    });
    expect(closed).toBe(true);
  });

  it('Expect other than 100-continue: 417 with the replica headers and a problem body', async () => {
    const { raw } = await exchange(
      port,
      'GET /a HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n',
    );
    const res = parse(raw);
    expect(res.status).toBe(417);
    expect(res.headers['x-outpost-version']).toBe('5');
    expect(res.headers['x-outpost-replica']).toBe('uk-london');
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 417, title: 'Expectation Failed' });
    expect(JSON.parse(res.body).detail).toContain('foo');
  });

  it('Expect: 100-continue still goes through to the request', async () => {
    const { raw } = await exchange(
      port,
      'GET /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  it('CONNECT: 405 with Allow: GET, HEAD, the replica headers and a problem body, then a close', async () => {
    const { raw, closed } = await exchange(
      port,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    const res = parse(raw);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.headers['x-outpost-version']).toBe('5');
    expect(res.headers['x-outpost-replica']).toBe('uk-london');
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers.connection).toBe('close');
    expect(Date.parse(res.headers.date!)).not.toBeNaN();
    expect(JSON.parse(res.body)).toMatchObject({ status: 405, title: 'Method Not Allowed' });
    expect(res.responses).toBe(1);
    expect(closed).toBe(true);
  });

  it('CONNECT with bytes after the head: still one answer and a close', async () => {
    const { raw, closed } = await exchange(
      port,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(parse(raw).status).toBe(405);
    expect(parse(raw).responses).toBe(1);
    expect(closed).toBe(true);
  });
});
