import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { runCli } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

const LONDON = 'london-7f3a9c1e5b2d4f60';
const TOKYO = 'tokyo-c0ffee00c0ffee00';

/**
 * --replica-tokens: each office its own replication token, good for its own name only, and
 * taken away by editing the file and sending SIGHUP, without touching any other office.
 */
describe('replicas with tokens of their own', () => {
  let fleet: Fleet;
  let file: string;
  const writeTokens = (text: string) => {
    writeFileSync(file, text);
    chmodSync(file, 0o600);
  };
  const manifest = (token: string, query = '') =>
    get(`${fleet.master.url}/_outpost/api/v1/manifest?from=0${query}`, { authorization: `Bearer ${token}` });

  beforeAll(async () => {
    fleet = new Fleet({ files: { 'index.html': '<h1>hq</h1>' } });
    file = join(fleet.dir.path, 'replica-tokens');
    writeTokens(`# office tokens\nuk-london ${LONDON}\nasia-tokyo ${TOKYO}\n`);
    // No OUTPOST_TOKEN at all: only the offices listed may replicate.
    await fleet.startMaster({ env: { OUTPOST_TOKEN: '', OUTPOST_REPLICA_TOKENS: file } });
  });
  afterAll(() => fleet?.stop());

  it('lets each replica in with its own token, and no one with another', async () => {
    await fleet.startReplica('uk-london', 'uk', { env: { OUTPOST_TOKEN: LONDON } });
    await fleet.startReplica('asia-tokyo', 'asia', { env: { OUTPOST_TOKEN: TOKYO } });
    await fleet.expectConverged();

    // London's token in another replica's hands speaks for London only: refused, and said so.
    const impostor = await fleet.startReplica('us-west', 'us', { env: { OUTPOST_TOKEN: LONDON } });
    fleet.replicas.delete('us-west');
    await waitFor(
      async () => (await getStatus(impostor.url)).error?.includes("replica uk-london's, not us-west's"),
      {
        what: 'the impostor to be refused',
      },
    );
    // In words: the master's problem body is not pasted in as JSON.
    expect((await getStatus(impostor.url)).error).not.toContain('"type"');
    expect((await get(`${impostor.url}/index.html`)).status).toBe(503);
    expect((await fleet.masterStatus()).replicas.map((r: { name: string }) => r.name).sort()).toEqual([
      'asia-tokyo',
      'uk-london',
    ]);
    await impostor.stop();

    // Refused again and again (a replica pulling every --poll-ms): said once a minute, not each time.
    for (let i = 0; i < 5; i++) expect((await manifest(LONDON, '&name=eu-paris&region=eu')).status).toBe(403);
    const said = fleet.master.logs.filter((l) =>
      String(l.msg).startsWith("pull refused: this replication token is replica uk-london's, not eu-paris's"),
    );
    expect(said).toHaveLength(1);
    expect((await manifest(LONDON)).status).toBe(200);
    expect((await manifest('not-a-token-of-anyone')).status).toBe(401);
    expect((await get(`${fleet.master.url}/_outpost/api/v1/manifest?from=0`)).status).toBe(401);
  });

  it('takes a token away on SIGHUP: that replica is cut off, the others go on', async () => {
    writeTokens(`asia-tokyo ${TOKYO}\n`);
    fleet.master.proc.kill('SIGHUP');
    await waitFor(() => fleet.master.logs.some((l) => l.msg === 'replica tokens read again') || null, {
      what: 'the tokens read again',
    });
    await waitFor(async () => (await fleet.replicaStatus('uk-london')).error?.includes('refused our token'), {
      what: 'London to be refused',
    });
    expect((await manifest(LONDON)).status).toBe(401);
    await waitFor(
      async () =>
        (await fleet.masterStatus()).replicas.find((r: { name: string }) => r.name === 'uk-london')
          ?.connected === false,
      { what: 'London offline at the master' },
    );

    // The master's status says why, not only that it is offline.
    const london = (await fleet.masterStatus()).replicas.find(
      (r: { name: string }) => r.name === 'uk-london',
    );
    expect(london.error).toMatch(/replication token was revoked or changed/);

    fleet.write('index.html', '<h1>hq, edited</h1>');
    await fleet.expectConverged(['asia-tokyo']);
    expect((await get(`${fleet.replica('uk-london').url}/index.html`)).body.toString()).toBe('<h1>hq</h1>');
    // Its pulls, every --poll-ms, are refused: logged once, then counted, not a line each.
    const refusedLines = () =>
      fleet.master.logs.filter((l) => String(l.msg).startsWith('replication: wrong or missing token')).length;
    await waitFor(() => refusedLines() >= 1 || null, { what: 'a refused pull logged' });
    const lines = refusedLines();
    const replicaRefusals = () =>
      fleet.replica('uk-london').logs.filter((l) => JSON.stringify(l).includes('401')).length;
    const before = replicaRefusals();
    await waitFor(() => replicaRefusals() >= before + 3 || null, { what: 'three more refused pulls' });
    expect(refusedLines()).toBe(lines);

    // A file that cannot be read keeps the tokens read before.
    writeTokens('asia-tokyo short\n');
    fleet.master.proc.kill('SIGHUP');
    await waitFor(
      () =>
        fleet.master.logs.some((l) => l.msg === 'replica tokens not read again; the ones read before stay') ||
        null,
      { what: 'the bad file refused' },
    );
    expect((await manifest(TOKYO)).status).toBe(200);
  });

  it('refuses to start on a tokens file it cannot use, and says which line', async () => {
    const bad = join(fleet.dir.path, 'bad-tokens');
    writeFileSync(bad, `uk-london ${LONDON}\nus-west ${LONDON}\n`);
    const args = ['master', '--content', fleet.content, '--data', join(fleet.dir.path, 'm2'), '--port', '0'];
    const dup = await runCli([...args, '--replica-tokens', bad]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain(`${bad}, line 2: us-west has the same token as uk-london`);
    const missing = await runCli([...args, '--replica-tokens', join(fleet.dir.path, 'nowhere')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--replica-tokens .*nowhere: cannot be read \(no such file, ENOENT\)/);
  });
});

async function getStatus(url: string): Promise<{ error: string | null }> {
  return JSON.parse((await get(`${url}/_outpost/api/v1/status`)).body.toString());
}
