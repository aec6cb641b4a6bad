import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
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
    expect((await get(`${rogue.url}/secret.txt`)).status).toBe(404);
    expect((await get(`${rogue.url}/_outpost/readyz`)).status).toBe(503);
    const st = await fleet.masterStatus();
    expect(st.replicas.map((r: any) => r.name)).toEqual(['uk-london']);
    expect(fleet.master.logs.some((l) => String(l.msg).includes('wrong or missing token'))).toBe(true);

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
  });
});
