import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { sample } from './helpers/metric-sample.js';
import { waitFor } from './helpers/wait-for.js';

const ADMIN = 'metrics-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };

describe('metrics for Prometheus', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'index.html': 'home\n', 'a.txt': 'a\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
      env: { OUTPOST_ADMIN_TOKEN: ADMIN, OUTPOST_HEARTBEAT_MS: '500' },
    });
    await waitFor(
      async () => {
        const s = JSON.parse((await get(`${fleet.master.url}/_outpost/api/v1/status`, auth)).body.toString());
        return (
          s.version === 1 && s.replicas.length === 2 && s.replicas.every((r: any) => r.state === 'in-sync')
        );
      },
      { what: 'both replicas in sync' },
    );
  });
  afterAll(() => fleet?.stop());

  const scrape = async (url: string) => {
    const res = await get(`${url}/_outpost/metrics`, auth);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return res.body.toString();
  };

  it('are behind the admin token, as status is', async () => {
    for (const url of [fleet.master.url, fleet.replica('uk-london').url]) {
      const res = await get(`${url}/_outpost/metrics`);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });

  it("say on the master what it publishes and each replica's state, and follow a replica going away", async () => {
    const m = fleet.master.url;
    let text = await scrape(m);
    expect(sample(text, 'outpost_master_version{service="master"}')).toBe(1);
    expect(sample(text, 'outpost_master_files{service="master"}')).toBe(2);
    expect(sample(text, 'outpost_master_ready{service="master"}')).toBe(1);
    expect(sample(text, 'outpost_master_watching{service="master"}')).toBe(1);
    expect(
      sample(
        text,
        'outpost_fleet_replica_state{replica="asia-tokyo",region="asia",state="in-sync",service="master"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'outpost_fleet_replica_state{replica="asia-tokyo",region="asia",state="offline",service="master"}',
      ),
    ).toBe(0);
    expect(text).toMatch(/^process_resident_memory_bytes\{service="master"\} \d+/m);

    await fleet.replica('asia-tokyo').stop();
    fleet.write('b.txt', 'b\n');
    text = await waitFor(
      async () => {
        const t = await scrape(m);
        return sample(
          t,
          'outpost_fleet_replica_lag_versions{replica="asia-tokyo",region="asia",service="master"}',
        ) === 1
          ? t
          : null;
      },
      { what: 'asia-tokyo one version behind in the metrics' },
    );
    expect(
      sample(
        text,
        'outpost_fleet_replica_state{replica="asia-tokyo",region="asia",state="offline",service="master"}',
      ),
    ).toBe(1);
    expect(
      sample(text, 'outpost_fleet_replica_lag_versions{replica="uk-london",region="uk",service="master"}'),
    ).toBe(0);
  });

  it('say on a replica what it serves, its link, and the requests it took', async () => {
    const url = fleet.replica('uk-london').url;
    const labels = 'service="replica",replica="uk-london",region="uk"';
    const before = sample(await scrape(url), `outpost_replica_http_requests_total{${labels}}`)!;
    for (let i = 0; i < 5; i++) expect((await get(`${url}/a.txt`)).status).toBe(200);
    const text = await scrape(url);
    // The five reads, and the scrape itself.
    expect(sample(text, `outpost_replica_http_requests_total{${labels}}`)).toBe(before + 6);
    expect(sample(text, `outpost_replica_serving_version{${labels}}`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, `outpost_replica_link{link="push",${labels}}`)).toBe(1);
    expect(sample(text, `outpost_replica_store_damaged{${labels}}`)).toBe(0);
  });
});
