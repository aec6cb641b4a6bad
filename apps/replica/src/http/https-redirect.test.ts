import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpsRedirectServer, httpsLocation } from './https-redirect.js';
import { DEFAULT_LIMITS } from './server-limits.js';

describe('httpsLocation', () => {
  it('keeps the host, path and query, and swaps the port', () => {
    expect(httpsLocation('uk.corp.example', '/docs/a.pdf?x=1', 443)).toBe(
      'https://uk.corp.example/docs/a.pdf?x=1',
    );
    expect(httpsLocation('uk.corp.example:80', '/', 443)).toBe('https://uk.corp.example/');
    expect(httpsLocation('127.0.0.1:8080', '/a', 8443)).toBe('https://127.0.0.1:8443/a');
    expect(httpsLocation('[::1]:8080', '/a', 8443)).toBe('https://[::1]:8443/a');
    expect(httpsLocation('UK.Corp.Example', '/', 443)).toBe('https://uk.corp.example/');
  });

  it('refuses a Host header that is no host, rather than echo it', () => {
    for (const host of [
      undefined,
      '',
      'evil.example/path',
      'a b',
      'user@evil.example',
      'x:99999999',
      '[zz',
      '-bad.example',
      'a..b',
      // Brackets around what is no IPv6 address.
      '[::::::::::]',
      '[1.2.3.4]',
      '[::1',
    ]) {
      expect(httpsLocation(host, '/', 443), String(host)).toBeNull();
    }
    expect(httpsLocation('uk.corp.example', '*', 443)).toBeNull();
  });

  it('takes an absolute-form target’s path and query, never its host', () => {
    expect(httpsLocation('uk.corp.example', 'http://other/x/y?z', 8443)).toBe(
      'https://uk.corp.example:8443/x/y?z',
    );
    expect(httpsLocation('127.0.0.2:8080', 'HTTP://other:8080?q', 443)).toBe('https://127.0.0.2/?q');
    // Whatever the target names, the Location is never made from it.
    expect(httpsLocation('uk.corp.example', 'http://elsewhere/', 443)).toBe('https://uk.corp.example/');
    expect(httpsLocation('evil.example/x', 'http://uk.corp.example/', 443)).toBeNull();
    for (const target of ['http://user@elsewhere/', 'http:///x', 'ftp://elsewhere/', 'elsewhere/x']) {
      expect(httpsLocation('uk.corp.example', target, 443), target).toBeNull();
    }
  });
});

/** Sends `request(port)` to a redirect server (HTTPS on 8443) and gives all it answered. */
async function exchange(request: (port: number) => string): Promise<string> {
  const server = createHttpsRedirectServer(() => 8443, DEFAULT_LIMITS);
  await once(server.listen(0, '127.0.0.1'), 'listening');
  try {
    const { port } = server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    socket.end(request(port));
    let head = '';
    for await (const chunk of socket) head += chunk;
    return head;
  } finally {
    server.close();
  }
}

describe('the redirect server', () => {
  it('answers an absolute-form request line with a 308 to the Host, over HTTPS', async () => {
    const head = await exchange(
      (port) => `GET http://other/x/y?z HTTP/1.1\r\nHost: 127.0.0.2:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(head).toMatch(/^HTTP\/1\.1 308 /);
    expect(head).toContain('\r\nlocation: https://127.0.0.2:8443/x/y?z\r\n');
  });

  it('answers two Host headers 400, as the HTTPS port does, never a Location from one of them', async () => {
    const head = await exchange(
      () => 'GET /x HTTP/1.1\r\nHost: evil.example\r\nHost: uk.corp.example\r\nConnection: close\r\n\r\n',
    );
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).not.toContain('location');
  });
});
