import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { LIMITS } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Fleet } from './helpers/fleet.js';
import { freePort } from './helpers/free-port.js';
import { get, getJson } from './helpers/http.js';
import { runCli, startReplica } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/** Opens a raw WebSocket to the master and resolves with how the master closed it. */
function closeOf(url: string, send: (ws: WebSocket) => void): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/_outpost/ws`);
    ws.on('open', () => send(ws));
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
}

const hello = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'hello',
    protocol: 1,
    name: 'probe',
    region: 'lab',
    version: 0,
    root: '0'.repeat(64),
    ...extra,
  });

describe('outpost status and the protocol edges', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'a.txt': 'a\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('prints the fleet as a table and exits 0 when every replica is in sync', async () => {
    const r = await runCli(['status', '--master', fleet.master.url]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^master: version \d+/);
    expect(lines[1]).toMatch(/^NAME\s+REGION\s+STATE\s+LINK\s+VERSION\s+LAG\s+LAST SEEN\s+ERROR$/);
    expect(lines[2]).toMatch(/^asia-tokyo\s+asia\s+in-sync\s+push\s+\d+\s+0\s+\d+s ago$/);
    expect(lines[3]).toMatch(/^uk-london\s+uk\s+in-sync\s+push\s+\d+\s+0\s+\d+s ago$/);
    const json = await runCli(['status', '--json'], { OUTPOST_MASTER: fleet.master.url });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).replicas).toHaveLength(2);
  });

  it('exits non-zero when a replica is offline, and says which', async () => {
    await fleet.replica('asia-tokyo').kill();
    // Offline once not heard from for three heartbeats (500 ms each in tests).
    await waitFor(
      async () =>
        (await fleet.masterStatus()).replicas.find((r: any) => r.name === 'asia-tokyo').state === 'offline',
      { what: 'asia-tokyo offline' },
    );
    const r = await runCli(['status', '--master', fleet.master.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/asia-tokyo\s+asia\s+offline\s+offline/);
    await fleet.startReplica('asia-tokyo', 'asia');
    await fleet.expectConverged();
    expect((await runCli(['status', '--master', fleet.master.url])).code).toBe(0);
  });

  it('refuses bad usage with exit code 2 and a message', async () => {
    const missing = await runCli(['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--master');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badName = await runCli([
      'replica',
      '--name',
      'Bad_Name',
      '--region',
      'uk',
      '--master',
      'http://127.0.0.1:1',
      '--data',
      '/tmp/x',
    ]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--name');
  });

  it('says in one line when --master cannot be reached or is not a master: exit 2, no stack', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await runCli(['status', '--master', closed]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(
      new RegExp(
        `^outpost: cannot reach the master at ${closed}: connection refused \\(is it running, on that port\\?\\)\\n$`,
      ),
    );
    const replicaUrl = fleet.replica('uk-london').url;
    const replica = await runCli(['status', '--master', replicaUrl]);
    expect(replica.code).toBe(2);
    expect(replica.stderr).toBe(
      `outpost: ${replicaUrl} is replica uk-london (region uk), not a master: --master takes the master's URL\n`,
    );
    const notUrl = await runCli(['versions', '--master', '127.0.0.1:7070']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toBe(
      'outpost: --master 127.0.0.1:7070: not a URL: give it with its scheme, as http://127.0.0.1:7070\n',
    );
  });

  it('refuses a second master or replica on a data directory in use: exit 1, and who holds it', async () => {
    const masterData = join(fleet.dir.path, 'master');
    const master = await runCli(['master', '--content', fleet.content, '--data', masterData, '--port', '0']);
    expect(master.code).toBe(1);
    expect(master.stderr.trim()).toBe(
      `outpost: ${masterData} is in use by another outpost master, which holds ${join(masterData, 'master.sqlite')}: stop that one first, or give this one a --data of its own`,
    );
    const replicaData = join(fleet.dir.path, 'replica-uk-london');
    const replica = await runCli(
      [
        'replica',
        '--name',
        'uk-london-2',
        '--region',
        'uk',
        '--master',
        fleet.master.url,
        '--data',
        replicaData,
      ],
      {},
    );
    expect(replica.code).toBe(1);
    expect(replica.stderr).toContain(`${replicaData} is in use by another outpost replica`);
    // The holders never noticed.
    await fleet.expectConverged();
  });

  it('says in one line which address it cannot listen on, and which flag to change: exit 1', async () => {
    const taken = new URL(fleet.master.url).port;
    const dir = join(fleet.dir.path, 'listen');
    const master = await runCli([
      'master',
      '--content',
      fleet.content,
      '--data',
      join(dir, 'm'),
      '--port',
      taken,
    ]);
    expect(master.code).toBe(1);
    expect(master.stderr.trim()).toBe(
      `outpost: cannot listen on 127.0.0.1:${taken}: another process holds it; give --port another port, or stop that process`,
    );
    // The DNS port held (UDP): the same one line, and nothing logged of it besides.
    const held = createSocket('udp4');
    await new Promise<void>((r) => held.bind(0, '127.0.0.1', () => r()));
    const dnsPort = String(held.address().port);
    try {
      const dns = await runCli([
        'master',
        '--content',
        fleet.content,
        '--data',
        join(dir, 'm'),
        '--port',
        String(await freePort()),
        '--zone',
        'corp.example',
        '--dns-port',
        dnsPort,
      ]);
      expect(dns.code).toBe(1);
      expect(dns.stderr.trim()).toBe(
        `outpost: cannot serve DNS on 127.0.0.1:${dnsPort}: another process holds it; give --dns-port another port, or stop that process`,
      );
      expect(dns.stdout).toBe('');
    } finally {
      held.close();
    }
    const replica = await runCli([
      'replica',
      '--name',
      'elsewhere',
      '--region',
      'uk',
      '--master',
      fleet.master.url,
      '--data',
      join(dir, 'r'),
      '--host',
      '192.0.2.1',
      '--port',
      '0',
    ]);
    expect(replica.code).toBe(1);
    expect(replica.stderr.trim()).toBe(
      'outpost: cannot listen on 192.0.2.1:0: no interface of this host has that address; check --host',
    );
  });

  it("says in a replica's status, and its log, why it cannot reach its master", async () => {
    const misled = await startReplica({
      name: 'misled',
      region: 'uk',
      // Another replica's address, as a mistyped --master might give.
      master: fleet.replica('uk-london').url,
      data: join(fleet.dir.path, 'misled'),
    });
    try {
      const status = await waitFor(
        async () => {
          const s = await getJson(`${misled.url}/_outpost/api/v1/status`);
          return s.error ? s : null;
        },
        { what: 'the misled replica to say why' },
      );
      expect(status.state).toBe('offline');
      expect(status.error).toBe(
        `${fleet.replica('uk-london').url} answers, but not as an outpost master (GET /_outpost/api/v1/manifest: 404): is --master another replica's address, or another server's?`,
      );
      await waitFor(() => misled.logs.some((l) => l.level === 40 && l.msg === status.error), {
        what: 'a warning in its log',
      });
    } finally {
      await misled.stop();
    }
  });

  it('closes a WebSocket that sends garbage with 4000 and a reason, and keeps serving', async () => {
    const notJson = await closeOf(fleet.master.url, (ws) => ws.send('{not json'));
    expect(notJson).toEqual({ code: 4000, reason: 'message is not JSON' });
    const noHello = await closeOf(fleet.master.url, (ws) => ws.send(JSON.stringify({ type: 'ping' })));
    expect(noHello).toEqual({ code: 4000, reason: 'hello must come first' });
    const badPath = await closeOf(fleet.master.url, (ws) => ws.send(hello({ name: '../../etc' })));
    expect(badPath.code).toBe(4000);
    expect(badPath.reason).toMatch(/^invalid message: name/);
    const binary = await closeOf(fleet.master.url, (ws) => ws.send(Buffer.from([1, 2, 3])));
    expect(binary.code).toBe(4000);
    const huge = await closeOf(fleet.master.url, (ws) => ws.send('x'.repeat(1024 * 1024)));
    expect(huge).toEqual({
      code: 1009,
      reason: `message too big: the limit is ${LIMITS.maxReplicaMessageBytes} bytes`,
    });
    const protocol = await closeOf(fleet.master.url, (ws) => ws.send(hello({ protocol: 99 })));
    expect(protocol.code).toBe(4002);
    expect(protocol.reason).toContain('protocol 99 not supported');
    // None of it disturbed the master or its replicas.
    expect((await get(`${fleet.master.url}/_outpost/healthz`)).status).toBe(200);
    const s = await fleet.masterStatus();
    expect(s.replicas.map((r: any) => r.name)).toEqual(['asia-tokyo', 'uk-london']);
  });

  it('answers bad REST input with a 400 problem body', async () => {
    for (const path of [
      '/_outpost/api/v1/chunks/nothex',
      '/_outpost/api/v1/manifest?from=-1',
      '/_outpost/api/v1/versions/abc',
    ]) {
      const res = await get(`${fleet.master.url}${path}`);
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(res.body.toString())).toMatchObject({ status: 400 });
    }
    const missing = await get(`${fleet.master.url}/_outpost/api/v1/chunks/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    const unknownVersion = await get(`${fleet.master.url}/_outpost/api/v1/versions/999999`);
    expect(unknownVersion.status).toBe(404);
    const route = await get(`${fleet.master.url}/_outpost/nope`);
    expect(route.status).toBe(404);
    expect(JSON.parse(route.body.toString())).toMatchObject({ status: 404, title: 'Not Found' });
  });
});

describe('a WebSocket that never speaks', () => {
  it('is closed with 1008 and a reason once three heartbeats pass, not cut without a word', async () => {
    // No replica: a master expecting heartbeats every 200 ms would drop real ones too.
    const f = await Fleet.start({
      files: { 'a.txt': 'a\n' },
      replicas: [],
      env: { OUTPOST_HEARTBEAT_MS: '200' },
    });
    try {
      const started = Date.now();
      const silent = await closeOf(f.master.url, () => undefined);
      expect(silent.code).toBe(1008);
      expect(silent.reason).toMatch(/^nothing heard for .*a hello, then heartbeats, are expected$/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      // Logged as the link is dropped: the line comes down the master's stdout, which may be
      // read after the close frame came in on the socket.
      await waitFor(() => f.master.logs.some((l) => l.msg === 'replica went silent; dropping its link'), {
        what: "the master's log line of the drop",
      });
    } finally {
      await f.stop();
    }
  });
});
