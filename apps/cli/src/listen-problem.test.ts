import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listenProblem } from './listen-problem.js';

/** The error Node gives when listening where another server already listens. */
async function inUseError(): Promise<unknown> {
  const first = createServer();
  await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
  const { port } = first.address() as { port: number };
  const second = createServer();
  const err = await new Promise((resolve) => {
    second.once('error', resolve);
    second.listen(port, '127.0.0.1');
  });
  first.close();
  return err;
}

const errno = (code: string, syscall: string, address: string, port: number) =>
  Object.assign(new Error(`${syscall} ${code} ${address}:${port}`), { code, syscall, address, port });

describe('listenProblem', () => {
  it('names the address and the flag for a port another process holds', async () => {
    const err = (await inUseError()) as { port: number };
    expect(listenProblem(err, { port: String(err.port) })).toBe(
      `cannot listen on 127.0.0.1:${err.port}: another process holds it; give --port another port, or stop that process`,
    );
  });

  it("tells the DNS server's port from the HTTP one, its default included", () => {
    const zone = 'corp.example';
    expect(listenProblem(errno('EADDRINUSE', 'bind', '127.0.0.1', 5353), { zone })).toBe(
      'cannot serve DNS on 127.0.0.1:5353: another process holds it; give --dns-port another port, or stop that process',
    );
    expect(listenProblem(errno('EADDRNOTAVAIL', 'listen', '10.9.9.9', 53), { zone, dnsPort: '53' })).toBe(
      'cannot serve DNS on 10.9.9.9:53: no interface of this host has that address; check --dns-host',
    );
    // Without a zone there is no DNS server: the port is the HTTP one.
    expect(listenProblem(errno('EACCES', 'listen', '::1', 80), { port: '80' })).toBe(
      'cannot listen on [::1]:80: permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE); give --port another port',
    );
  });

  it('names the flag of a host name that does not resolve, and an IPv6 address given in brackets', () => {
    const notFound = (hostname: string) =>
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        syscall: 'getaddrinfo',
        hostname,
      });
    expect(listenProblem(notFound('[::1]'), { zone: 'corp.example', dnsHost: '[::1]' })).toBe(
      'cannot listen on [::1]: no such host name; give --dns-host the address without brackets (::1)',
    );
    expect(listenProblem(notFound('nowhere.invalid'), { host: 'nowhere.invalid' })).toBe(
      'cannot listen on nowhere.invalid: no such host name; give --host an IP address or a name this host resolves',
    );
  });

  it('names --http-redirect-port when that port is the one taken', () => {
    expect(
      listenProblem(errno('EADDRINUSE', 'listen', '0.0.0.0', 80), { port: '443', httpRedirectPort: '80' }),
    ).toBe(
      'cannot listen on 0.0.0.0:80: another process holds it; give --http-redirect-port another port, or stop that process',
    );
  });

  it('leaves every other error alone', () => {
    expect(listenProblem(new Error('boom'), {})).toBeNull();
    expect(listenProblem(errno('ENOENT', 'open', '', 0), {})).toBeNull();
    expect(listenProblem(errno('ECONNRESET', 'listen', '127.0.0.1', 1), {})).toBeNull();
    expect(listenProblem(undefined, {})).toBeNull();
  });
});
