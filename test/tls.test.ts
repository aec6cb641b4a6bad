import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { sha256Hex } from '@outpost/core';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { runCli, type Service, startMaster, startReplica, tempDir } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'tls');
const CA = join(FIXTURES, 'ca.pem');
const trusting = new Agent({ connect: { ca: readFileSync(CA) } });

async function getTls(url: string) {
  const res = await request(url, { dispatcher: trusting });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

/** The common name of the certificate a new TLS connection to `url` is shown. */
function servedName(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca: readFileSync(CA) }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('HTTPS on the master and the replicas (--tls-cert, --tls-key)', () => {
  const dir = tempDir();
  const tlsDir = join(dir.path, 'tls');
  const content = join(dir.path, 'content');
  const policy = 'policy over TLS\n';
  const withCa = { NODE_EXTRA_CA_CERTS: CA };
  let master: Service;
  let replica: Service;
  let redirectPort: number;
  const tlsArgs = ['--tls-cert', join(tlsDir, 'server.pem'), '--tls-key', join(tlsDir, 'server.key')];

  beforeAll(async () => {
    mkdirSync(tlsDir);
    copyFileSync(join(FIXTURES, 'server1.pem'), join(tlsDir, 'server.pem'));
    copyFileSync(join(FIXTURES, 'server1.key'), join(tlsDir, 'server.key'));
    mkdirSync(content);
    writeFileSync(join(content, 'policy.md'), policy);
    master = await startMaster({ content, data: join(dir.path, 'master'), args: tlsArgs });
    redirectPort = await freePort();
    replica = await startReplica({
      name: 'uk-london',
      region: 'uk',
      master: master.url,
      data: join(dir.path, 'replica'),
      args: [
        ...tlsArgs,
        ...['--http-redirect-port', String(redirectPort)],
        ...['--access-log', join(dir.path, 'access.log'), '--access-log-format', 'json'],
      ],
      env: withCa,
    });
  });
  afterAll(async () => {
    await replica?.stop();
    await master?.stop();
    dir.cleanup();
  });

  it('syncs over wss and serves readers over HTTPS', async () => {
    expect(master.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(replica.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const status = await waitFor(
      async () => {
        const s = JSON.parse((await getTls(`${replica.url}/_outpost/api/v1/status`)).body.toString());
        return s.version === 1 ? s : null;
      },
      { what: 'the replica to hold version 1 over TLS' },
    );
    expect(status.link).toBe('push');
    const res = await getTls(`${replica.url}/policy.md`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(policy);
    expect(res.headers.etag).toBe(`"${sha256Hex(Buffer.from(policy))}"`);
    // Plain HTTP on the HTTPS port gets no content.
    const plain = await request(replica.url.replace('https:', 'http:') + '/policy.md').then(
      (r) => r.statusCode,
      (err: Error) => err.message,
    );
    expect(plain).not.toBe(200);

    const fleet = await runCli(['status', '--master', master.url], withCa);
    expect(fleet.code, fleet.stderr).toBe(0);
    expect(fleet.stdout).toMatch(/^uk-london\s+uk\s+in-sync\s+push/m);
    const untrusted = await runCli(['status', '--master', master.url]);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain(`cannot reach the master at ${master.url}`);
  });

  it('sends plain HTTP on --http-redirect-port to the same address over HTTPS', async () => {
    const httpsPort = new URL(replica.url).port;
    const res = await request(`http://127.0.0.1:${redirectPort}/policy.md?x=1`);
    await res.body.dump();
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe(`https://127.0.0.1:${httpsPort}/policy.md?x=1`);
    const followed = await getTls(String(res.headers.location));
    expect(followed.body.toString()).toBe(policy);
    // A Host header that is no host is not echoed into a Location.
    const bad = await request(`http://127.0.0.1:${redirectPort}/`, { headers: { host: 'evil.example/x' } });
    await bad.body.dump();
    expect(bad.statusCode).toBe(400);
    expect(bad.headers.location).toBeUndefined();
    // Both are in the access log, beside the request over HTTPS they led to.
    const logged = await waitFor(
      async () => {
        const lines = existsSync(join(dir.path, 'access.log'))
          ? readFileSync(join(dir.path, 'access.log'), 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
          : [];
        const wanted = lines.filter((l) => l.url === '/policy.md?x=1' || (l.url === '/' && l.status === 400));
        return wanted.length >= 3 ? wanted : null;
      },
      { what: 'the redirects in the access log' },
    );
    expect(logged.map((l) => l.status).sort()).toEqual([200, 308, 400]);
    const noTls = await runCli([
      'replica',
      ...['--name', 'eu-paris', '--region', 'eu', '--master', master.url, '--data', join(dir.path, 'r4')],
      ...['--http-redirect-port', String(redirectPort)],
    ]);
    expect(noTls.code).toBe(2);
    expect(noTls.stderr).toContain(
      '--http-redirect-port sends readers to HTTPS: it needs --tls-cert and --tls-key',
    );
  });

  it('says why a replica that does not trust the certificate cannot sync', async () => {
    const stray = await startReplica({
      name: 'asia-tokyo',
      region: 'asia',
      master: master.url,
      data: join(dir.path, 'replica-untrusting'),
    });
    try {
      const s = await waitFor(
        async () => {
          const body = (await request(`${stray.url}/_outpost/api/v1/status`)).body;
          const st = JSON.parse(await body.text());
          return st.error ? st : null;
        },
        { what: 'the untrusting replica to say why' },
      );
      expect(s.error).toContain('TLS certificate is not trusted here');
      expect(s.version).toBe(0);
    } finally {
      await stray.stop();
    }
  });

  it('takes a renewed certificate on SIGHUP, and keeps the one in use when the new files are bad', async () => {
    expect(await servedName(replica.url)).toBe('outpost test server 1');
    copyFileSync(join(FIXTURES, 'server2.pem'), join(tlsDir, 'server.pem'));
    copyFileSync(join(FIXTURES, 'server2.key'), join(tlsDir, 'server.key'));
    replica.proc.kill('SIGHUP');
    master.proc.kill('SIGHUP');
    await waitFor(() => replica.logs.some((l) => l.msg === 'TLS certificate reloaded'), {
      what: 'replica reload',
    });
    await waitFor(() => master.logs.some((l) => l.msg === 'TLS certificate reloaded'), {
      what: 'master reload',
    });
    expect(await servedName(replica.url)).toBe('outpost test server 2');
    expect(await servedName(master.url)).toBe('outpost test server 2');

    // A key that is not the certificate's: logged, and the certificate in use stays.
    copyFileSync(join(FIXTURES, 'server1.key'), join(tlsDir, 'server.key'));
    replica.proc.kill('SIGHUP');
    const refused = await waitFor(
      () => replica.logs.find((l) => l.msg === 'TLS certificate not reloaded; the one in use stays'),
      {
        what: 'the bad files to be refused',
      },
    );
    expect(String(refused.err)).toContain('cannot be used');
    expect(await servedName(replica.url)).toBe('outpost test server 2');
    expect((await getTls(`${replica.url}/policy.md`)).status).toBe(200);
    expect(replica.proc.exitCode).toBeNull();
  });

  it('drops a connection whose TLS handshake never comes, and a stop does not wait for one', async () => {
    const r = await startReplica({
      name: 'uk-leeds',
      region: 'uk',
      master: master.url,
      data: join(dir.path, 'r-silent'),
      // The fixtures themselves: the reload test leaves the pair in tlsDir unusable.
      args: [
        ...['--tls-cert', join(FIXTURES, 'server1.pem'), '--tls-key', join(FIXTURES, 'server1.key')],
        ...['--headers-timeout-ms', '5000'],
      ],
      env: withCa,
    });
    const { port } = new URL(r.url);
    /** A client that connects and says nothing (a TCP probe), or plain HTTP to the HTTPS port; when the server closed it. */
    const client = (say?: string) => {
      const socket: Socket = connectTcp(Number(port), '127.0.0.1');
      const t0 = Date.now();
      socket.on('error', () => {});
      if (say) socket.write(say);
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
      return { socket, closed };
    };
    try {
      // Closed once the handshake timeout (--headers-timeout-ms) is over: it had been kept for
      // good, an answer written into a TLS socket that never came up.
      const silent = client();
      const plain = client('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(await plain.closed).toBeLessThan(5_000);
      expect(await silent.closed).toBeGreaterThanOrEqual(4_900);
      expect(await silent.closed).toBeLessThan(10_000);
      // A stop cuts a connection still silent at once, not when its handshake times out (5 s).
      const held = client();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const t0 = Date.now();
      await r.stop();
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(r.proc.exitCode).toBe(0);
      await held.closed;
    } finally {
      await r.stop();
    }
  });

  it('refuses to start on a key that is not the certificate’s, or on half of the pair', async () => {
    const mismatched = await runCli([
      'replica',
      ...['--name', 'eu-paris', '--region', 'eu', '--master', master.url, '--data', join(dir.path, 'r3')],
      ...['--tls-cert', join(FIXTURES, 'server1.pem'), '--tls-key', join(FIXTURES, 'server2.key')],
    ]);
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toMatch(
      /--tls-cert \S+server1\.pem and --tls-key \S+server2\.key cannot be used/,
    );
    const half = await runCli([
      'master',
      ...['--content', content, '--data', join(dir.path, 'm2'), '--tls-cert', join(FIXTURES, 'server1.pem')],
    ]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--tls-cert needs --tls-key too');
    const missing = await runCli([
      'master',
      ...['--content', content, '--data', join(dir.path, 'm3')],
      ...['--tls-cert', join(dir.path, 'nope.pem'), '--tls-key', join(FIXTURES, 'server1.key')],
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.pem: ENOENT');
  });
});
