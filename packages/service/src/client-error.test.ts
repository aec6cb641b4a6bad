import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientError, type ClientErrorOptions, clientErrorAnswerer } from './client-error.js';

/*
 * answerClientError on a real node:http server, with the bytes written and read raw: what a
 * client that sent something the parser refuses gets back, response by response.
 */

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise((resolve) => s.close(resolve));
});

/** A server answering parser errors with answerClientError (and `o`), requests with `handler`. */
async function serve(
  o: ClientErrorOptions | undefined,
  handler: RequestListener = (_req, res) => res.end('ok'),
) {
  server = createServer(handler);
  server.on('clientError', o ? clientErrorAnswerer(o) : answerClientError);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Writes `bytes` (latin1) and, with `end`, half-closes; resolves to all that came back before the close. */
function exchange(port: number, bytes: string, end = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(Buffer.from(bytes, 'latin1'));
      if (end) s.end();
    });
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => resolve(out));
    setTimeout(() => {
      s.destroy();
      reject(new Error(`still open after 3 s; got ${JSON.stringify(out)}`));
    }, 3000);
  });
}

const statusLines = (raw: string) => raw.match(/HTTP\/1\.1 \d{3}[^\r]*\r\n/g) ?? [];
const bodyOf = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4);

describe('answerClientError', () => {
  it('answers a request the parser refuses with a problem body and closes', async () => {
    const port = await serve(undefined);
    const raw = await exchange(port, 'GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusLines(raw)).toEqual(['HTTP/1.1 400 Bad Request\r\n']);
    expect(raw).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
    expect(raw).toMatch(/\r\nConnection: close\r\n/);
    // As every other answer: a Date (RFC 9110 §6.6.1), neither stored nor sniffed.
    expect(raw).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/);
    expect(raw).toContain('\r\nCache-Control: no-store\r\n');
    expect(raw).toContain('\r\nX-Content-Type-Options: nosniff\r\n');
    expect(JSON.parse(bodyOf(raw))).toMatchObject({ status: 400, title: 'Bad Request' });
  });

  it('answers a method it does not know 405 with Allow when told the methods, else 501', async () => {
    const allowed = await serve({ allow: 'GET, HEAD' });
    for (const method of ['FOO', 'BAN']) {
      const raw = await exchange(allowed, `${method} /a.txt HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(statusLines(raw), method).toEqual(['HTTP/1.1 405 Method Not Allowed\r\n']);
      expect(raw, method).toContain('\r\nAllow: GET, HEAD\r\n');
      expect(JSON.parse(bodyOf(raw))).toMatchObject({ status: 405 });
    }
    await new Promise((resolve) => server!.close(resolve));
    const plain = await serve(undefined);
    const raw = await exchange(plain, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusLines(raw)).toEqual(['HTTP/1.1 501 Not Implemented\r\n']);
    expect(raw).not.toContain('Allow:');
  });

  it('answers a version it does not speak 505', async () => {
    const port = await serve(undefined);
    const raw = await exchange(port, 'GET / HTTP/1.2\r\nHost: x\r\n\r\n');
    expect(statusLines(raw)).toEqual(['HTTP/1.1 505 HTTP Version Not Supported\r\n']);
    expect(JSON.parse(bodyOf(raw)).detail).toMatch(/version/);
  });

  it('carries the headers it is given, read at the time of the answer', async () => {
    let version = 3;
    const port = await serve({
      headers: () => ({ 'X-Outpost-Version': version, 'X-Outpost-Replica': 'uk-london' }),
    });
    version = 4;
    for (const req of [
      'GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n',
    ]) {
      const raw = await exchange(port, req);
      expect(statusLines(raw), req).toEqual(['HTTP/1.1 400 Bad Request\r\n']);
      expect(raw, req).toContain('\r\nX-Outpost-Version: 4\r\n');
      expect(raw, req).toContain('\r\nX-Outpost-Replica: uk-london\r\n');
      expect(JSON.parse(bodyOf(raw)), req).toMatchObject({ status: 400 });
    }
  });

  it('names what was wrong where the parser says it', async () => {
    const port = await serve(undefined);
    const method = JSON.parse(bodyOf(await exchange(port, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n')));
    expect(method.detail).toMatch(/method/);
    const target = JSON.parse(bodyOf(await exchange(port, 'GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n')));
    expect(target.detail).toMatch(/request target/);
  });

  it('leaves out a header that could not go on the wire as it is, rather than split the head', async () => {
    const port = await serve({
      headers: () => ({ 'X-Evil': 'a\r\nSet-Cookie: x=1', 'X-Good': 'b', 'Bad Name': 'c' }),
    });
    const raw = await exchange(port, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(raw).not.toMatch(/Set-Cookie|X-Evil|Bad Name/);
    expect(raw).toContain('\r\nX-Good: b\r\n');
  });

  // A request the server has answered already (as the replica's request guard refuses a
  // Transfer-Encoding other than chunked) can still fail in the parser after that: one
  // request must get one response, or the second is read as the answer to the next request.
  it.each([
    ['Transfer-Encoding: gzip', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', false],
    [
      'Transfer-Encoding: gzip, then the end of stream',
      'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
      true,
    ],
    [
      'Transfer-Encoding: identity with bytes',
      'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nabc',
      false,
    ],
  ])('never writes a second response after the server has answered (%s)', async (_name, req, end) => {
    const port = await serve(undefined, (_req, res) => {
      const body = '{"status":400}';
      res.shouldKeepAlive = false;
      res.writeHead(400, { 'content-length': body.length, connection: 'close' });
      res.end(body);
    });
    const raw = await exchange(port, req, end);
    expect(statusLines(raw)).toHaveLength(1);
    expect(raw.endsWith('{"status":400}')).toBe(true);
  });

  it('cuts off a response that was still being written when the parser failed', async () => {
    let started!: () => void;
    const writing = new Promise<void>((resolve) => {
      started = resolve;
    });
    const port = await serve(undefined, (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('x'.repeat(10));
      started();
    });
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    s.on('error', () => {});
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await writing;
    s.write('FOO / HTTP/1.1\r\n\r\n');
    await once(s, 'close');
    expect(statusLines(out)).toEqual(['HTTP/1.1 200 OK\r\n']);
  });
});
