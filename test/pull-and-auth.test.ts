import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { lookup } from './helpers/dns-client.js';
import { Fleet } from './helpers/fleet.js';
import { freePort } from './helpers/free-port.js';
import { get, getJson } from './helpers/http.js';
import { startNoWebSocketProxy } from './helpers/no-websocket-proxy.js';
import { waitFor } from './helpers/wait-for.js';

describe('pull-only replicas and tokens', () => {
  let fleet: Fleet | undefined;
  let closeProxy: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeProxy?.();
    await fleet?.stop();
    fleet = undefined;
    closeProxy = undefined;
  });

  it('a replica whose WebSocket is refused still converges by pull', async () => {
    fleet = await Fleet.start({ files: { 'one.txt': '1\n', 'sub/two.txt': '2\n' } });
    const proxy = await startNoWebSocketProxy(fleet.master.url);
    closeProxy = proxy.close;
    await fleet.startReplica('eu-paris', 'eu', { master: proxy.url });

    await fleet.expectConverged();
    fleet.write('sub/three.txt', '3\n');
    fleet.remove('one.txt');
    await fleet.expectConverged(undefined, ['one.txt']);

    expect(proxy.upgradesRefused()).toBeGreaterThan(0);
    const s = await fleet.replicaStatus('eu-paris');
    expect(s).toMatchObject({ link: 'pull', state: 'in-sync' });
    const fleetView = await waitFor(async () => {
      const st = await fleet!.masterStatus();
      const r = st.replicas.find((x: any) => x.name === 'eu-paris');
      return r?.version === st.version ? r : null;
    });
    expect(fleetView).toMatchObject({ connected: false, link: 'pull', state: 'in-sync', region: 'eu' });
  });

  it('a replica that only pulls (its WebSocket refused from the start) is answered in DNS at its address', async () => {
    const dnsPort = await freePort();
    fleet = await Fleet.start({
      files: { 'one.txt': '1\n' },
      masterArgs: ['--zone', 'corp.example', '--dns-port', String(dnsPort)],
    });
    const proxy = await startNoWebSocketProxy(fleet.master.url);
    closeProxy = proxy.close;
    await fleet.startReplica('eu-paris', 'eu', {
      master: proxy.url,
      args: ['--host', '127.0.0.5', '--port', String(await freePort())],
    });
    await fleet.expectConverged();
    const answered = await waitFor(
      async () => {
        const got = (await lookup(dnsPort, 'eu-paris.corp.example')).answers;
        return got.length > 0 ? got : null;
      },
      { what: 'eu-paris in the DNS answers' },
    );
    expect(answered).toEqual(['A 127.0.0.5']);
    expect((await lookup(dnsPort, 'eu.corp.example')).answers).toEqual(['A 127.0.0.5']);
    expect(proxy.upgradesRefused()).toBeGreaterThan(0);
    expect(await fleet.replicaStatus('eu-paris')).toMatchObject({ link: 'pull' });
  });

  it('a replica that only pulls is alive to the master while it takes a large version slowly', async () => {
    // 1 MiB at 8 KiB/s: two minutes with no pull. It was shown offline (and out of DNS, as
    // silent) two heartbeats into its fetch.
    const f = await Fleet.start({
      files: { 'slow.bin': randomBytes(1024 * 1024) },
      // The master's stop would wait its drain for the paced batch still streaming.
      env: { OUTPOST_HEARTBEAT_MS: '500', OUTPOST_DRAIN_MS: '500' },
    });
    fleet = f;
    await f.masterCaughtUp();
    const proxy = await startNoWebSocketProxy(f.master.url);
    closeProxy = proxy.close;
    const replica = await f.startReplica('eu-paris', 'eu', { master: proxy.url, args: ['--max-rate', '8k'] });
    await waitFor(
      async () => (await getJson(`${replica.url}/_outpost/api/v1/status`)).applying?.bytesDone > 0,
      { what: 'the paced fetch to be under way' },
    );
    // Six heartbeats on, twice the time after which a replica not heard from is offline.
    await new Promise((r) => setTimeout(r, 3000));
    const seen = (await f.masterStatus()).replicas.find((r: { name: string }) => r.name === 'eu-paris');
    expect(seen).toMatchObject({ link: 'pull' });
    expect(seen.state).not.toBe('offline');
    expect(Date.now() - Date.parse(seen.lastSeenAt)).toBeLessThan(1500);
  });

  it('refuses a replica with a wrong token: 401 at the upgrade and on the pull API, and it never gets content', async () => {
    fleet = await Fleet.start({
      files: { 'secret.txt': 'classified\n' },
      env: { OUTPOST_TOKEN: 'right-token' },
    });
    await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged();

    const rogue = await fleet.startReplica('xx-rogue', 'xx', { env: { OUTPOST_TOKEN: 'wrong-token' } });
    await waitFor(async () => (await fleet!.replicaStatus('xx-rogue')).error?.includes('401'), {
      what: 'rogue replica to report 401',
    });
    const s = await fleet.replicaStatus('xx-rogue');
    expect(s).toMatchObject({ version: 0, link: 'offline' });
    // It holds no version: nothing to say 404 of (a cache would take the file for gone).
    const secret = await get(`${rogue.url}/secret.txt`);
    expect(secret.status).toBe(503);
    expect(secret.headers['retry-after']).toBe('5');
    expect(secret.body.toString()).not.toContain('secret');
    expect(JSON.parse(secret.body.toString()).detail).toBe(
      'this replica holds no version yet: it is syncing',
    );
    expect((await get(`${rogue.url}/_outpost/readyz`)).status).toBe(503);
    const st = await fleet.masterStatus();
    expect(st.replicas.map((r: any) => r.name)).toEqual(['uk-london']);
    // The master's warnings name who presented the wrong token: the push link's upgrade and the pull.
    const refusedAgents = (msg: string) =>
      fleet!.master.logs.filter((l) => l.msg === msg).map((l) => l.userAgent);
    await waitFor(
      () =>
        refusedAgents('replica refused: wrong or missing token').includes('outpost-replica (xx-rogue)') &&
        refusedAgents('replication: wrong or missing token').includes('outpost-replica (xx-rogue)'),
      { what: "the master's 401 warnings to name the rogue replica" },
    );

    // The same with a raw client: the handshake is refused before any WebSocket exists.
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${fleet!.master.url.replace('http', 'ws')}/_outpost/ws`, {
        headers: { authorization: 'Bearer nope' },
      });
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.on('error', () => undefined);
      ws.on('open', () => reject(new Error('upgrade should have been refused')));
    });
    expect(status).toBe(401);
    const pull = await get(`${fleet.master.url}/_outpost/api/v1/manifest?from=0`);
    expect(pull.status).toBe(401);
    expect(JSON.parse(pull.body.toString())).toMatchObject({ status: 401, title: 'Unauthorized' });
    const ok = await get(`${fleet.master.url}/_outpost/api/v1/manifest?from=0`, {
      authorization: 'Bearer right-token',
    });
    expect(ok.status).toBe(200);
  });

  it('guards the admin REST with OUTPOST_ADMIN_TOKEN, leaves healthz and content open', async () => {
    fleet = await Fleet.start({
      files: { 'open.txt': 'for everyone\n' },
      env: { OUTPOST_ADMIN_TOKEN: 'admin-secret' },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    const auth = { authorization: 'Bearer admin-secret' };
    for (const base of [fleet.master.url, fleet.replica('uk-london').url]) {
      const denied = await get(`${base}/_outpost/api/v1/status`);
      expect(denied.status).toBe(401);
      expect(denied.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(denied.body.toString())).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect((await get(`${base}/_outpost/api/v1/status`, { authorization: 'Bearer wrong' })).status).toBe(
        401,
      );
      expect((await get(`${base}/_outpost/api/v1/status`, auth)).status).toBe(200);
      expect((await get(`${base}/_outpost/healthz`)).status).toBe(200);
    }
    expect((await get(`${fleet.master.url}/_outpost/api/v1/versions`)).status).toBe(401);
    await waitFor(async () => (await get(`${fleet!.replica('uk-london').url}/open.txt`)).status === 200);

    // A stranger's body is never read: 401 whatever it sends, before any parse or size error.
    const api = `${fleet.master.url}/_outpost/api/v1`;
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${api}/rollback`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
    for (const body of ['{not json', 'x'.repeat(200 * 1024)]) expect((await post(body, {})).status).toBe(401);
    // With the token: the refusals name their own status (413 is not a "Bad Request").
    const big = await post(`{"to":"${'x'.repeat(200 * 1024)}"}`, auth);
    expect(big.status).toBe(413);
    expect(big.headers.get('content-type')).toContain('application/problem+json');
    expect(await big.json()).toMatchObject({ status: 413, title: 'Payload Too Large' });
    // A known path asked with another method: 405 and what it takes, not 404.
    for (const [method, path, allow] of [
      ['GET', '/rollback', 'POST'],
      ['DELETE', '/status', 'GET, HEAD'],
      ['POST', '/replicas/uk-london', 'DELETE'],
    ] as const) {
      const res = await fetch(`${api}${path}`, { method, headers: auth });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(await res.json()).toMatchObject({ status: 405, title: 'Method Not Allowed' });
    }
    expect((await fetch(`${api}/nowhere`, { headers: auth })).status).toBe(404);
    // A target fastify cannot decode, on both services: a problem body like every other error.
    for (const url of [`${api}/versions/%ZZ`, `${fleet.replica('uk-london').url}/_outpost/api/v1/%ZZ`]) {
      const res = await fetch(url, { headers: auth });
      expect(res.status, url).toBe(400);
      expect(res.headers.get('content-type'), url).toContain('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 400, title: 'Bad Request' });
    }
  });
});
