import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { runCli } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

const ADMIN = 'forget-admin-secret';
const auth = { authorization: `Bearer ${ADMIN}` };
const cliEnv = { OUTPOST_ADMIN_TOKEN: ADMIN };

describe('outpost forget: a decommissioned replica leaves the master for good', () => {
  let fleet: Fleet;
  const status = async () =>
    JSON.parse((await get(`${fleet.master.url}/_outpost/api/v1/status`, auth)).body.toString());
  const forget = (name: string, env: NodeJS.ProcessEnv = cliEnv) =>
    runCli(['forget', '--master', fleet.master.url, '--name', name], env);

  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'policy.md': 'policy\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
      env: { OUTPOST_ADMIN_TOKEN: ADMIN },
    });
    await waitFor(
      async () => {
        const s = await status();
        return (
          s.version === 1 && s.replicas.length === 2 && s.replicas.every((r: any) => r.state === 'in-sync')
        );
      },
      { what: 'both replicas in sync' },
    );
  });
  afterAll(() => fleet?.stop());

  it('refuses a replica that runs, and forgets it once it is stopped: status is healthy again', async () => {
    const live = await forget('uk-london');
    expect(live.code).toBe(2);
    expect(live.stderr).toContain('master answered 409');
    expect(live.stderr).toContain('replica uk-london is connected: stop it first');
    expect((await status()).replicas.map((r: any) => r.name)).toEqual(['asia-tokyo', 'uk-london']);

    await fleet.replica('uk-london').stop();
    fleet.replicas.delete('uk-london');
    await waitFor(
      async () => (await status()).replicas.find((r: any) => r.name === 'uk-london')?.state === 'offline',
      {
        what: 'uk-london offline',
      },
    );
    // The office is closed, and the fleet's status fails for it until it is forgotten.
    const failing = await runCli(['status', '--master', fleet.master.url], cliEnv);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^uk-london\s+uk\s+offline/m);

    // The admin token guards it, as every admin call.
    const anonymous = await get(`${fleet.master.url}/_outpost/api/v1/replicas/uk-london`, {}, 'DELETE');
    expect(anonymous.status).toBe(401);
    expect((await forget('uk-london', {})).code).toBe(2);

    const gone = await forget('uk-london');
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(
      /^forgot replica uk-london \(region uk, at version 1, last seen 20\d\d-[^)]+\)$/m,
    );

    const s = await status();
    expect(s.replicas.map((r: any) => r.name)).toEqual(['asia-tokyo']);
    const healthy = await runCli(['status', '--master', fleet.master.url], cliEnv);
    expect(healthy.code, healthy.stdout).toBe(0);
    expect(healthy.stdout).not.toContain('uk-london');
    const metrics = (await get(`${fleet.master.url}/_outpost/metrics`, auth)).body.toString();
    expect(metrics).toContain('replica="asia-tokyo"');
    expect(metrics).not.toContain('replica="uk-london"');
  });

  it('says so of a name it does not know, or that is no replica name at all', async () => {
    const unknown = await forget('us-west');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('master answered 404');
    expect(unknown.stderr).toContain('this master knows no replica named us-west');
    const bad = await get(`${fleet.master.url}/_outpost/api/v1/replicas/UK%20London`, auth, 'DELETE');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(bad.body.toString()).detail).toContain('replica name: lowercase letters');
    const usage = await runCli(['forget', '--master', fleet.master.url], {
      ...cliEnv,
      OUTPOST_NAME: 'asia-tokyo',
    });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('forget needs --name NAME');
    expect((await status()).replicas.map((r: any) => r.name)).toEqual(['asia-tokyo']);
  });

  it('stays forgotten across a master restart, and meets the replica as new when it comes back', async () => {
    await fleet.master.stop();
    await fleet.startMaster();
    await waitFor(
      async () => (await status()).replicas.find((r: any) => r.name === 'asia-tokyo')?.state === 'in-sync',
      {
        what: 'asia-tokyo back in sync after the restart',
      },
    );
    expect((await status()).replicas.map((r: any) => r.name)).toEqual(['asia-tokyo']);

    await fleet.startReplica('uk-london', 'uk');
    await waitFor(
      async () => (await status()).replicas.find((r: any) => r.name === 'uk-london')?.state === 'in-sync',
      {
        what: 'uk-london known again, in sync',
      },
    );
  });
});
