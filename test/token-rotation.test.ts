import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { startNoWebSocketProxy } from './helpers/no-websocket-proxy.js';
import { runCli } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

const OLD = { OUTPOST_TOKEN: 'old-token' };
const NEW = { OUTPOST_TOKEN: 'new-token' };

describe('rotating the replication token without a gap', () => {
  let fleet: Fleet;
  let proxy: Awaited<ReturnType<typeof startNoWebSocketProxy>>;
  const warnings = async (): Promise<string[]> => (await fleet.masterStatus()).warnings;
  const synced = ['uk-london', 'asia-tokyo', 'us-west'];

  beforeAll(async () => {
    // The master takes the new token and still accepts the old one.
    fleet = await Fleet.start({
      files: { 'policy.md': 'policy one\n' },
      env: { OUTPOST_TOKEN: 'new-token', OUTPOST_PREVIOUS_TOKEN: 'old-token' },
    });
    proxy = await startNoWebSocketProxy(fleet.master.url);
  });
  afterAll(async () => {
    await fleet?.stop();
    await proxy?.close();
  });

  it('accepts both tokens over push and pull, names who still has the old one, and refuses any other', async () => {
    await fleet.startReplica('uk-london', 'uk', { env: OLD });
    await fleet.startReplica('asia-tokyo', 'asia', { env: NEW });
    // us-west sits behind a proxy that refuses WebSockets: it can only pull.
    await fleet.startReplica('us-west', 'us', { env: OLD, master: proxy.url });
    await fleet.expectConverged(synced);
    expect((await fleet.replicaStatus('us-west')).link).toBe('pull');

    await waitFor(async () => (await warnings()).some((w) => w.includes('uk-london, us-west')), {
      what: 'status to name the replicas on the old token',
    });
    expect(await warnings()).toContain(
      "2 replicas still present the previous replication token (OUTPOST_PREVIOUS_TOKEN): uk-london, us-west; give them OUTPOST_TOKEN's value and restart them",
    );
    const table = await runCli(['status', '--master', fleet.master.url]);
    expect(table.code, table.stdout).toBe(0);
    expect(table.stdout).toContain('WARNING: 2 replicas still present the previous replication token');

    const rogue = await fleet.startReplica('xx-rogue', 'xx', { env: { OUTPOST_TOKEN: 'older-token' } });
    await waitFor(async () => (await fleet.replicaStatus('xx-rogue')).error?.includes('401'), {
      what: 'a third token to be refused',
    });
    expect((await get(`${rogue.url}/policy.md`)).status).toBe(503);
    expect((await fleet.masterStatus()).replicas.map((r: any) => r.name)).not.toContain('xx-rogue');
    await rogue.stop();
    fleet.replicas.delete('xx-rogue');

    // A change made meanwhile reaches all three, whichever token each holds.
    fleet.write('policy.md', 'policy two\n');
    await fleet.expectConverged(synced);
  });

  it('says when no replica uses the old token any more, and then refuses it', async () => {
    for (const [name, region, master] of [
      ['uk-london', 'uk', undefined],
      ['us-west', 'us', proxy.url],
    ] as const) {
      await fleet.replica(name).stop();
      await fleet.startReplica(name, region, { env: NEW, ...(master ? { master } : {}) });
    }
    await fleet.expectConverged(synced);
    await waitFor(
      async () =>
        (await warnings()).some((w) =>
          w.includes('every replica the master knows has been seen since it started without it'),
        ),
      {
        what: 'status to say the rotation can be finished',
      },
    );
    expect((await warnings()).filter((w) => w.includes('OUTPOST_PREVIOUS_TOKEN'))).toHaveLength(1);

    // The rotation finished: the master restarts without the old token.
    await fleet.master.stop();
    await fleet.startMaster({ env: { OUTPOST_PREVIOUS_TOKEN: '' } });
    fleet.write('policy.md', 'policy three\n');
    await fleet.expectConverged(synced);
    expect((await warnings()).filter((w) => w.includes('TOKEN'))).toEqual([]);
    const stale = await fleet.startReplica('eu-paris', 'eu', { env: OLD });
    await waitFor(async () => (await fleet.replicaStatus('eu-paris')).error?.includes('401'), {
      what: 'the retired token to be refused',
    });
    const pull = await get(`${fleet.master.url}/_outpost/api/v1/manifest?from=0`, {
      authorization: 'Bearer old-token',
    });
    expect(pull.status).toBe(401);
    await stale.stop();
    fleet.replicas.delete('eu-paris');
  });

  it('refuses to start a master given only the token being retired', async () => {
    const r = await runCli(
      ['master', '--content', fleet.content, '--data', join(fleet.dir.path, 'other-master'), '--port', '0'],
      { OUTPOST_TOKEN: '', OUTPOST_PREVIOUS_TOKEN: 'old-token' },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OUTPOST_PREVIOUS_TOKEN is set without OUTPOST_TOKEN');
  });
});

describe('rotating the admin token', () => {
  let fleet: Fleet;
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'policy.md': 'policy\n' },
      replicas: [{ name: 'uk-london', region: 'uk' }],
      env: { OUTPOST_ADMIN_TOKEN: 'new-admin', OUTPOST_PREVIOUS_ADMIN_TOKEN: 'old-admin' },
    });
    await waitFor(
      async () => (await fleet.masterStatus(bearer('new-admin'))).replicas[0]?.state === 'in-sync',
      { what: 'the replica in sync' },
    );
  });
  afterAll(() => fleet?.stop());

  it('lets clients with either token in, on both services, and names one still on the old token', async () => {
    const replica = fleet.replica('uk-london');
    for (const url of [fleet.master.url, replica.url]) {
      for (const path of ['/_outpost/api/v1/status', '/_outpost/metrics']) {
        expect((await get(`${url}${path}`, bearer('new-admin'))).status, path).toBe(200);
        expect((await get(`${url}${path}`, bearer('old-admin'))).status, path).toBe(200);
        expect((await get(`${url}${path}`, bearer('older-admin'))).status, path).toBe(401);
      }
    }
    await waitFor(
      () =>
        fleet.master.logs.find(
          (l) =>
            l.msg ===
            'admin: a client presents the previous token; give it the current one before the previous is unset',
        ),
      { what: 'the master to name the client on the old admin token' },
    );
    const cli = await runCli(['status', '--master', fleet.master.url], { OUTPOST_ADMIN_TOKEN: 'old-admin' });
    expect(cli.code, cli.stderr).toBe(0);
  });

  it('signs the dashboard in with either token, and its cookie is the new token’s', async () => {
    const signIn = async (token: string) => {
      const { request } = await import('undici');
      const res = await request(`${fleet.master.url}/_outpost/dashboard/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${token}`,
      });
      await res.body.dump();
      return { status: res.statusCode, cookie: String(res.headers['set-cookie'] ?? '').split(';')[0] ?? '' };
    };
    // A pass names its issue time: the old token's is the new one's of that moment, which one
    // of the new token's sign-ins either side of it shares (a second may turn between them).
    const withNew = await signIn('new-admin');
    const withOld = await signIn('old-admin');
    const newAfter = await signIn('new-admin');
    expect(withNew.status).toBe(303);
    expect(withOld.status).toBe(303);
    expect([withNew.cookie, newAfter.cookie]).toContain(withOld.cookie);
    expect((await signIn('older-admin')).status).toBe(401);
    const page = await get(`${fleet.master.url}/_outpost/dashboard`, { cookie: withOld.cookie });
    expect(page.status).toBe(200);
  });

  it('refuses to start a service given only the admin token being retired', async () => {
    const r = await runCli(
      ['master', '--content', fleet.content, '--data', join(fleet.dir.path, 'other-master'), '--port', '0'],
      { OUTPOST_ADMIN_TOKEN: '', OUTPOST_PREVIOUS_ADMIN_TOKEN: 'old-admin' },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OUTPOST_PREVIOUS_ADMIN_TOKEN is set without OUTPOST_ADMIN_TOKEN');
  });
});
