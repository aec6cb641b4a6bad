import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ByteMeter, startByteMeter } from './helpers/byte-meter.js';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { sample } from './helpers/metric-sample.js';
import { noise } from './helpers/noise.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Chunks of a large change fetched while the master still reads it: the master tells the
 * chunks of new files as it stores them (`prefetch`), replicas that asked for that fetch them
 * at once, and once the version is cut little is left to fetch; nothing is fetched twice.
 */

const MiB = 1024 * 1024;

async function replicaMetrics(url: string): Promise<string> {
  const res = await get(`${url}/_outpost/metrics`);
  expect(res.status).toBe(200);
  return res.body.toString();
}

/** A metric of the uk-london replica (0 while it has none). */
async function londonMetric(url: string, name: string): Promise<number> {
  return sample(await replicaMetrics(url), `${name}{service="replica",replica="uk-london",region="uk"}`) ?? 0;
}

/** Files made beside the content directory and moved in at once: one batch, one version. */
function dropIn(fleet: Fleet, files: Record<string, Buffer>) {
  const staging = join(fleet.dir.path, 'staging');
  mkdirSync(staging, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(staging, name), data);
  renameSync(staging, join(fleet.content, 'drop'));
}

/** Six 8 MiB files: each fills a batch of the master's store writer, told as it lands. */
const bigDrop = () =>
  Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, noise(8 * MiB, `f${i}`)]));

/** Chunks in a store that no content names: litter. */
function unnamedChunks(file: string): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db
      .prepare('SELECT COUNT(*) FROM chunks WHERE hash NOT IN (SELECT chunk_hash FROM content_chunks)')
      .pluck()
      .get() as number;
  } finally {
    db.close();
  }
}

describe('chunks fetched ahead of their version', () => {
  let fleet: Fleet | undefined;
  let meter: ByteMeter | undefined;
  afterEach(async () => {
    await meter?.close();
    await fleet?.stop();
    fleet = undefined;
    meter = undefined;
  });

  it("a replica fetches a large change's new files while the master reads them, each byte once", async () => {
    fleet = await Fleet.start({ files: { 'a.txt': 'a\n' } });
    meter = await startByteMeter(fleet.master.url);
    await fleet.startReplica('uk-london', 'uk', { master: meter.url });
    await fleet.expectConverged();
    meter.reset();

    const files = bigDrop();
    dropIn(fleet, files);
    await fleet.expectConverged();

    const text = await replicaMetrics(fleet.replica('uk-london').url);
    const ahead =
      sample(
        text,
        'outpost_replica_prefetched_bytes_total{service="replica",replica="uk-london",region="uk"}',
      ) ?? 0;
    const total = 48 * MiB;
    // At least the first batches the master stored before it had read the rest.
    expect(ahead).toBeGreaterThanOrEqual(4 * MiB);
    expect(ahead).toBeLessThanOrEqual(total);
    expect(
      sample(
        text,
        'outpost_replica_prefetch_unused_chunks_total{service="replica",replica="uk-london",region="uk"}',
      ),
    ).toBe(0);
    // Fetched ahead or after the cut, never both: the wire carries the drop once, and a little.
    const { total: wire } = meter.bytes();
    expect(wire).toBeGreaterThan(total);
    expect(wire).toBeLessThan(total * 1.03);
    const served = await get(`${fleet.replica('uk-london').url}/drop/f3.bin`);
    expect(served.status).toBe(200);
    expect(Buffer.compare(served.body, files['f3.bin']!)).toBe(0);
  });

  it('a large file rewritten in place is fetched while the master reads it; a small edit stays a patch', async () => {
    fleet = await Fleet.start({ files: { 'big.bin': noise(48 * MiB, 'v1') } });
    meter = await startByteMeter(fleet.master.url);
    await fleet.startReplica('uk-london', 'uk', { master: meter.url });
    await fleet.expectConverged();
    const ahead = async () =>
      sample(
        await replicaMetrics(fleet!.replica('uk-london').url),
        'outpost_replica_prefetched_bytes_total{service="replica",replica="uk-london",region="uk"}',
      ) ?? 0;
    expect(await ahead()).toBe(0);

    // Moved over the old one: the whole content new, every chunk of it.
    meter.reset();
    const staged = join(fleet.dir.path, 'big.new');
    writeFileSync(staged, noise(48 * MiB, 'v2'));
    renameSync(staged, join(fleet.content, 'big.bin'));
    await fleet.expectConverged();
    expect(await ahead()).toBeGreaterThanOrEqual(4 * MiB);
    const wire = meter.bytes().total;
    expect(wire).toBeGreaterThan(48 * MiB);
    expect(wire).toBeLessThan(48 * MiB * 1.03);

    // A byte flipped: its chunk travels as a patch, nothing is told ahead.
    const before = await ahead();
    meter.reset();
    const edited = noise(48 * MiB, 'v2');
    edited[edited.length >> 1]! ^= 1;
    writeFileSync(staged, edited);
    renameSync(staged, join(fleet.content, 'big.bin'));
    await fleet.expectConverged();
    expect(await ahead()).toBe(before);
    expect(meter.bytes().total).toBeLessThan(64 * 1024);
  });

  it('edits published while a large file is read in the lane do not make the replica fetch it twice', async () => {
    // The lane (--lane-mib 1) reads 10 MiB of a 12 MiB file and is held there (test-only):
    // 8 MiB of its chunks stored and told, for the version that comes next.
    fleet = new Fleet({ files: { 'seed.txt': 'seed\n' }, masterArgs: ['--lane-mib', '1'] });
    const hold = join(fleet.dir.path, 'hold-lane');
    writeFileSync(hold, '10');
    await fleet.startMaster({ env: { OUTPOST_TEST_LANE_HOLD: hold } });
    meter = await startByteMeter(fleet.master.url);
    await fleet.startReplica('uk-london', 'uk', { master: meter.url });
    await fleet.expectConverged();
    const replica = fleet.replica('uk-london');
    const metric = (name: string) => londonMetric(replica.url, name);
    meter.reset();
    const big = noise(12 * MiB, 'lane');
    const staged = join(fleet.dir.path, 'big.bin');
    writeFileSync(staged, big);
    const past = new Date(Date.now() - 60_000);
    utimesSync(staged, past, past);
    renameSync(staged, join(fleet.content, 'big.bin'));
    await waitFor(async () => (await metric('outpost_replica_prefetched_bytes_total')) >= 4 * MiB, {
      what: 'the lane’s chunks fetched ahead',
      intervalMs: 10,
    });
    // Two edits meanwhile, each a version of its own: the first takes the number the lane's
    // chunks were told for.
    for (const name of ['one.txt', 'two.txt']) {
      fleet.write(name, `${name}\n`);
      await waitFor(async () => (await get(`${replica.url}/${name}`)).status === 200, {
        what: `${name} served while big.bin is read`,
      });
    }
    expect((await get(`${replica.url}/big.bin`)).status).toBe(404);
    unlinkSync(hold);
    await fleet.expectConverged();
    const served = await get(`${replica.url}/big.bin`);
    expect(Buffer.compare(served.body, big)).toBe(0);
    // What was fetched ahead was kept past both edits: the file crossed the link once.
    expect(await metric('outpost_replica_prefetch_unused_chunks_total')).toBe(0);
    const wire = meter.bytes().total;
    expect(wire).toBeGreaterThan(12 * MiB);
    expect(wire).toBeLessThan(12 * MiB * 1.05);
    expect(unnamedChunks(join(fleet.dir.path, 'replica-uk-london', 'replica.sqlite'))).toBe(0);
  });

  it('--no-prefetch: nothing is fetched before the version is cut', async () => {
    fleet = await Fleet.start({
      files: { 'a.txt': 'a\n' },
      replicas: [{ name: 'uk-london', region: 'uk', args: ['--no-prefetch'] }],
    });
    await fleet.expectConverged();
    dropIn(fleet, bigDrop());
    await fleet.expectConverged();
    const text = await replicaMetrics(fleet.replica('uk-london').url);
    expect(text).not.toContain('outpost_replica_prefetched_bytes_total');
  });

  it('the master tells chunks ahead only to replicas that name the feature, before the version comes', async () => {
    fleet = await Fleet.start({ files: { 'a.txt': 'a\n' } });
    const status = await fleet.masterCaughtUp();
    const listen = (name: string, features?: string[]) => {
      const ws = new WebSocket(`${fleet!.master.url.replace('http', 'ws')}/_outpost/ws`);
      const seen: { type: string; version?: number; chunks?: { hash: string; size: number }[] }[] = [];
      ws.on('open', () => {
        ws.send(
          JSON.stringify({
            type: 'hello',
            protocol: 2,
            name,
            region: 'lab',
            version: status.version,
            root: status.root,
            ...(features ? { features } : {}),
          }),
        );
      });
      ws.on('message', (data) => seen.push(JSON.parse(data.toString())));
      // Heartbeats, as a replica sends them: the master drops a silent link.
      const beat = setInterval(() => ws.readyState === ws.OPEN && ws.send('{"type":"ping"}'), 200);
      ws.on('close', () => clearInterval(beat));
      return { ws, seen };
    };
    const taker = listen('taker', ['prefetch', 'some-future-feature']);
    const plain = listen('plain');
    await waitFor(() => taker.seen.length > 0 && plain.seen.length > 0, { what: 'both welcomed' });

    const files = bigDrop();
    dropIn(fleet, files);
    const publishOf = (seen: typeof taker.seen) =>
      seen.find((m) => m.type === 'publish' && (m.version ?? 0) > status.version);
    await waitFor(() => publishOf(taker.seen) && publishOf(plain.seen), {
      what: 'the new version sent to both',
    });
    taker.ws.close();
    plain.ws.close();

    const version = publishOf(taker.seen)!.version;
    const told = taker.seen.filter((m) => m.type === 'prefetch');
    expect(told.length).toBeGreaterThan(0);
    // Told before the version that names them, for that version.
    expect(taker.seen.indexOf(told.at(-1)!)).toBeLessThan(taker.seen.indexOf(publishOf(taker.seen)!));
    for (const m of told) expect(m.version).toBe(version);
    const chunks = told.flatMap((m) => m.chunks ?? []);
    const sizes = new Set(chunks.map((c) => c.size));
    expect(chunks.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
    // Each told chunk is one of the drop's: the master serves it by its address.
    const first = chunks[0]!;
    const res = await get(`${fleet.master.url}/_outpost/api/v1/chunks/${first.hash}`);
    expect(res.status).toBe(200);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(first.hash);
    expect(plain.seen.some((m) => m.type === 'prefetch')).toBe(false);
  });

  it('chunks fetched ahead of a version that never came are dropped once the next one is applied', async () => {
    fleet = await Fleet.start({ files: { 'a.txt': 'a\n' }, replicas: [{ name: 'uk-london', region: 'uk' }] });
    await fleet.expectConverged();
    const replica = fleet.replica('uk-london');
    const metric = (name: string) => londonMetric(replica.url, name);
    // Large enough that the master is still reading it well after the first chunks are told.
    dropIn(
      fleet,
      Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`f${i}.bin`, noise(8 * MiB, `g${i}`)])),
    );
    await waitFor(async () => (await metric('outpost_replica_prefetched_bytes_total')) > 0, {
      what: 'chunks fetched ahead',
      intervalMs: 10,
    });
    // The master dies before it has cut that version, and when it is back, of the drop only the
    // last file is left (the chunks told first were the first files').
    await fleet.master.kill();
    const stranded = await fleet.replicaStatus('uk-london');
    expect(stranded.version).toBe(1);
    // Status tells what is held for the version being cut.
    expect(stranded.fetchingAhead).toMatchObject({ version: 2 });
    expect(stranded.fetchingAhead.chunks).toBeGreaterThan(0);
    expect(stranded.fetchingAhead.bytes).toBeGreaterThan(0);
    for (let i = 0; i < 23; i++) rmSync(join(fleet.content, 'drop', `f${i}.bin`));
    await fleet.startMaster();
    await fleet.expectConverged();
    expect(await metric('outpost_replica_prefetch_unused_chunks_total')).toBeGreaterThan(0);
    expect((await fleet.replicaStatus('uk-london')).fetchingAhead).toBeNull();
    expect(unnamedChunks(join(fleet.dir.path, 'replica-uk-london', 'replica.sqlite'))).toBe(0);
  });
});
