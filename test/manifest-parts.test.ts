import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Fleet } from './helpers/fleet.js';
import { get, getJson } from './helpers/http.js';
import { startNoWebSocketProxy } from './helpers/no-websocket-proxy.js';
import { waitFor } from './helpers/wait-for.js';

/** More than two parts' worth of files (a part holds at most 2,000 changes). */
const FILES = 4_500;
const PART = 2_000;
const ZERO_ROOT = '0'.repeat(64);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pathOf = (i: number) => `d${Math.floor(i / 100)}/f${i}.txt`;

/** Says hello with `protocol` and collects the publish messages the master sends. */
function publishesFor(url: string, protocol: number, until: (msgs: any[]) => boolean): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/_outpost/ws`);
    const got: any[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`only ${got.length} publish messages came`));
    }, 20_000);
    ws.on('open', () =>
      ws.send(
        JSON.stringify({
          type: 'hello',
          protocol,
          name: `probe-${protocol}`,
          region: 'lab',
          version: 0,
          root: ZERO_ROOT,
        }),
      ),
    );
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type !== 'publish') return;
      got.push(msg);
      if (until(got)) {
        clearTimeout(timer);
        ws.close();
        resolve(got);
      }
    });
    ws.on('error', reject);
  });
}

describe('a large manifest travels in parts', () => {
  let fleet: Fleet;
  let closeProxy: (() => Promise<void>) | undefined;
  let version: { version: number; root: string };

  beforeAll(async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < FILES; i++) files[pathOf(i)] = `file ${i}\n`;
    fleet = await Fleet.start({ files, replicas: [{ name: 'uk-london', region: 'uk' }] });
    const proxy = await startNoWebSocketProxy(fleet.master.url);
    closeProxy = proxy.close;
    // Behind a proxy that refuses WebSockets: this one can only pull.
    await fleet.startReplica('eu-paris', 'eu', { master: proxy.url });
    version = await fleet.masterCaughtUp(60_000);
  }, 120_000);

  afterAll(async () => {
    await closeProxy?.();
    await fleet?.stop();
  });

  it('pushes protocol-2 replicas parts of at most 2,000 changes, in order, that add up to the tree', async () => {
    const parts = await publishesFor(
      fleet.master.url,
      2,
      (m) => m.at(-1)?.part?.index === m.at(-1)?.part?.count - 1,
    );
    expect(parts.map((p) => p.part)).toEqual([
      { index: 0, count: 3 },
      { index: 1, count: 3 },
      { index: 2, count: 3 },
    ]);
    for (const p of parts) {
      expect(p.changes.length).toBeLessThanOrEqual(PART);
      expect(p).toMatchObject({ version: version.version, root: version.root, from: 0, full: true });
    }
    const paths = new Set(parts.flatMap((p) => p.changes.map((c: any) => c.path)));
    expect(paths.size).toBe(FILES);
  });

  it('still pushes a protocol-1 replica the whole manifest as one message', async () => {
    const [whole] = await publishesFor(fleet.master.url, 1, (m) => m.length === 1);
    expect(whole.part).toBeUndefined();
    expect(whole.changes).toHaveLength(FILES);
  });

  it('serves the pull API in parts pinned to one version, and says when a part or version is not there', async () => {
    const api = `${fleet.master.url}/_outpost/api/v1/manifest`;
    const first = await getJson(`${api}?from=0&part=0`);
    expect(first.part).toEqual({ index: 0, count: 3 });
    const last = await getJson(`${api}?from=0&part=2&to=${first.version}`);
    expect(last.part).toEqual({ index: 2, count: 3 });
    expect(last.changes).toHaveLength(FILES - 2 * PART);
    const whole = await getJson(`${api}?from=0`);
    expect(whole.part).toBeUndefined();
    expect(whole.changes).toHaveLength(FILES);
    const beyond = await get(`${api}?from=0&part=3&to=${first.version}`);
    expect(beyond.status).toBe(404);
    expect(JSON.parse(beyond.body.toString())).toMatchObject({ status: 404 });
    const gone = await get(`${api}?from=0&part=1&to=999999`);
    expect(gone.status).toBe(410);
    expect(JSON.parse(gone.body.toString()).detail).toContain('part 0');
  });

  it('brings a replica on the push link and a pull-only one to the version, and both serve it', async () => {
    for (const name of ['uk-london', 'eu-paris']) {
      await waitFor(
        async () => {
          const s = await fleet.replicaStatus(name);
          return s.version === version.version && s.root === version.root;
        },
        { timeoutMs: 60_000, what: `${name} to hold version ${version.version}` },
      );
      for (const i of [0, 1_999, 2_000, 3_999, 4_000, FILES - 1]) {
        const res = await get(`${fleet.replica(name).url}/${pathOf(i)}`);
        expect(res.status, `${name} ${pathOf(i)}`).toBe(200);
        expect(sha(res.body)).toBe(sha(Buffer.from(`file ${i}\n`)));
      }
    }
    // The master learns what a pull-only replica holds from its next pull.
    await waitFor(
      async () => {
        const s = await fleet.masterStatus();
        const paris = s.replicas.find((r: any) => r.name === 'eu-paris');
        return paris?.link === 'pull' && paris.version === version.version;
      },
      { timeoutMs: 20_000, what: 'the master to see eu-paris pull-synced' },
    );
  });
});
