import { createCipheriv, createHash } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  type ChaosProxy,
  NO_CHUNK_FAULTS,
  NO_FRAME_FAULTS,
  prng,
  startChaosProxy,
} from './helpers/chaos-proxy.js';
import { Fleet } from './helpers/fleet.js';
import { get, getJson } from './helpers/http.js';
import { runCli } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * A chaos proxy between a real replica and a real master damages chunk bodies (bit flips,
 * truncation, another chunk's bytes, stalls that complete or are cut) and the master's
 * WebSocket frames (dropped, duplicated, reordered, delayed, truncated) while the master
 * publishes version after version of many 100–300 KiB files, and readers keep asking the
 * replica for them. Nothing corrupt may be stored or served, a version that cannot be had
 * whole is NACKed with its reason in the master's status, and once the faults stop the
 * replica converges. Reproduce a run with CHAOS_SEED=<seed>.
 */

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const FILES = 48;
const MIN_VERSIONS = 6;
const MAX_VERSIONS = 24;
const EDITS_PER_VERSION = 40;
/** Phase 1 ends once this many chunk bodies were damaged (after MIN_VERSIONS), or at PHASE1_MS. */
const PHASE1_CORRUPTED = 900;
const PHASE1_MS = 45_000;
/** How long a new version waits for the replica to catch up with the last one. */
const CATCH_UP_MS = 4000;

/**
 * Chunk faults while versions keep coming: over a third of chunk bodies come back damaged. A
 * replica gives a chunk three tries, and a version fails on the first chunk that fails all
 * three; much more than this and no version of 100+ chunks ever lands while new ones arrive.
 */
const CHUNK_CHAOS = { flip: 0.14, truncate: 0.07, short: 0.03, wrong: 0.13, stall: 0.03 };
const FRAME_CHAOS = { drop: 0.1, duplicate: 0.15, reorder: 0.15, delay: 0.2, truncate: 0.05 };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (AES-CTR keyed by the seed and a label). */
function bytes(n: number, label: string): Buffer {
  const key = createHash('sha256').update(`${SEED}:${label}`).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const fmt = (m: Map<string, number>) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');

/** Readers that check every 200 body against the master's record of the version it names. */
function startReaders(replicaUrl: string, masterUrl: string, paths: () => string[], readers = 2) {
  const random = prng(SEED + 1);
  const versions = new Map<number, Promise<Map<string, string> | null>>();
  const entriesOf = (v: number) => {
    let p = versions.get(v);
    if (!p) {
      p = get(`${masterUrl}/_outpost/api/v1/versions/${v}`).then((res) =>
        res.status === 200
          ? new Map<string, string>(
              JSON.parse(res.body.toString()).entries.map((e: any) => [e.path, e.hash] as [string, string]),
            )
          : null,
      );
      versions.set(v, p);
    }
    return p;
  };
  const r = {
    reads: 0,
    verified: 0,
    statuses: new Map<string, number>(),
    bad: [] as string[],
    unverifiable: 0,
    versionsSeen: new Set<number>(),
    stop: false,
  };
  const loop = async () => {
    while (!r.stop) {
      const all = paths();
      const path = all[Math.floor(random() * all.length)]!;
      let res: Awaited<ReturnType<typeof get>>;
      try {
        res = await get(`${replicaUrl}/${path}`);
      } catch (err) {
        // A body cut off mid-stream is how a replica refuses to go on with damaged bytes.
        count(r.statuses, `error: ${(err as Error).message}`);
        continue;
      }
      r.reads++;
      count(r.statuses, String(res.status));
      const v = Number(res.headers['x-outpost-version']);
      if (Number.isInteger(v) && v > 0) r.versionsSeen.add(v);
      if (res.status === 200) {
        const entries = await entriesOf(v);
        const got = sha(res.body);
        if (res.headers.etag !== `"${got}"`)
          r.bad.push(`${path}@${v}: ETag ${res.headers.etag}, body ${got}`);
        if (!entries) r.unverifiable++;
        else if (entries.get(path) !== got)
          r.bad.push(`${path}@${v}: served ${got}, version ${v} has ${entries.get(path) ?? 'no such file'}`);
        else r.verified++;
      } else if (res.status === 404 && v > 0) {
        const entries = await entriesOf(v);
        if (entries?.has(path)) r.bad.push(`${path}@${v}: 404, but version ${v} has it`);
      } else if (res.status === 404 && v === 0) {
        // Nothing held yet: nothing to serve.
      } else if (res.status !== 503) {
        r.bad.push(`${path}@${v}: status ${res.status}`);
      }
      if (res.status !== 200) await new Promise((w) => setTimeout(w, 5));
    }
  };
  const done = Promise.all(Array.from({ length: readers }, loop));
  return {
    r,
    async stop() {
      r.stop = true;
      await done;
      return r;
    },
  };
}

/** Polls the master's status and keeps every distinct error it showed for the replica. */
function watchMasterErrors(fleet: Fleet, name: string) {
  const errors = new Map<string, number>();
  let stop = false;
  const done = (async () => {
    while (!stop) {
      try {
        const s = await fleet.masterStatus();
        const err = s.replicas.find((x: any) => x.name === name)?.error;
        if (err) count(errors, err.replace(/[0-9a-f]{64}/g, 'H').replace(/\d+/g, 'N'));
      } catch {
        // the next poll
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    errors,
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** The master's latest version once it holds what is on disk; on a timeout, what differs. */
async function caughtUp(fleet: Fleet) {
  try {
    return await fleet.masterCaughtUp(20_000);
  } catch (err) {
    const s = await fleet.masterStatus();
    const v = await getJson(`${fleet.master.url}/_outpost/api/v1/versions/${s.version}`);
    const published = new Map<string, string>(v.entries.map((e: any) => [e.path, e.hash]));
    const disk = fleet.diskTree();
    const differ = [...new Set([...disk.keys(), ...published.keys()])].filter(
      (p) => disk.get(p) !== published.get(p),
    );
    throw new Error(
      `seed ${SEED}: ${(err as Error).message}; master v${s.version}, problems ${JSON.stringify(s.problems)}, ` +
        `differing paths ${JSON.stringify(differ.map((p) => [p, disk.get(p)?.slice(0, 8), published.get(p)?.slice(0, 8)]))}`,
    );
  }
}

describe('fault injection between a replica and its master', () => {
  it('nothing corrupt is stored or served, a version that cannot be had is NACKed, and the replica converges', async () => {
    const started = Date.now();
    const random = prng(SEED);
    const content = new Map<string, Buffer>();
    const size = () => (100 + Math.floor(random() * 201)) * 1024;
    let generation = 0;
    const newBody = (path: string) => bytes(size(), `${path}#${generation++}`);
    for (let i = 0; i < FILES; i++) {
      const path = `pkg/${i % 6}/file-${i}.bin`;
      content.set(path, newBody(path));
    }
    const everPublished = new Set(content.keys());
    const fleet = await Fleet.start({ files: Object.fromEntries(content) });
    let proxy: ChaosProxy | undefined;
    let readers: ReturnType<typeof startReaders> | undefined;
    let watcher: ReturnType<typeof watchMasterErrors> | undefined;
    try {
      await caughtUp(fleet);
      proxy = await startChaosProxy(fleet.master.url, { seed: SEED, stallMs: [200, 1200] });
      proxy.setChunkFaults(CHUNK_CHAOS);
      proxy.setFrameFaults(FRAME_CHAOS);
      const replica = await fleet.startReplica('uk-london', 'uk', { master: proxy.url });
      watcher = watchMasterErrors(fleet, 'uk-london');
      readers = startReaders(replica.url, fleet.master.url, () => [...everPublished]);

      // Phase 1: versions keep coming while over a third of all chunks and some frames are damaged.
      const write = (path: string, data: Buffer) => {
        content.set(path, data);
        everPublished.add(path);
        fleet.write(path, data);
      };
      // A new version once the replica has caught up with the last (or after a while, if it
      // cannot), until enough chunks were damaged or the time is up.
      const phase1Until = Date.now() + PHASE1_MS;
      let versions = 0;
      while (
        versions < MAX_VERSIONS &&
        Date.now() < phase1Until &&
        (versions < MIN_VERSIONS || proxy.stats.corrupted < PHASE1_CORRUPTED)
      ) {
        const paths = [...content.keys()];
        for (let e = 0; e < EDITS_PER_VERSION; e++) {
          const path = paths[Math.floor(random() * paths.length)]!;
          write(path, newBody(path));
        }
        const added = `new/v${versions}/added.bin`;
        write(added, newBody(added));
        if (versions % 3 === 2) {
          const gone = paths[Math.floor(random() * paths.length)]!;
          content.delete(gone);
          fleet.remove(gone);
        }
        versions++;
        const v = await caughtUp(fleet);
        await waitFor(async () => (await fleet.replicaStatus('uk-london')).version >= v.version, {
          timeoutMs: CATCH_UP_MS,
          intervalMs: 100,
        }).catch(() => undefined);
      }
      const phase1 = { ...proxy.stats, chunkFaults: new Map(proxy.stats.chunkFaults) };
      const phase1Status = await fleet.replicaStatus('uk-london');

      // Phase 2: every chunk body damaged, the push link clean: the next version cannot be had,
      // is NACKed with the reason, and the master shows it; the replica serves what it had.
      proxy.setFrameFaults(NO_FRAME_FAULTS);
      proxy.setChunkFaults({ ...NO_CHUNK_FAULTS, flip: 0.4, truncate: 0.2, wrong: 0.4 });
      const corruptedBefore = proxy.stats.corrupted;
      for (let i = 0; i < 3; i++) write(`blocked/${i}.bin`, newBody(`blocked/${i}.bin`));
      const blocked = await caughtUp(fleet);
      const nacked = await waitFor(
        async () => {
          const s = await fleet.masterStatus();
          const r = s.replicas.find((x: any) => x.name === 'uk-london');
          return r?.error?.includes(`version ${blocked.version} refused`) ? r : null;
        },
        { timeoutMs: 30_000, what: `the master to show the NACK of version ${blocked.version}` },
      );
      expect(nacked.error).toMatch(/refused: .*chunk [0-9a-f]{64}/);
      expect(nacked.state).toBe('error');
      const during = await fleet.replicaStatus('uk-london');
      expect(during.version).toBeLessThan(blocked.version);
      expect(during.error).toContain(`version ${blocked.version}`);
      const phase2Corrupted = proxy.stats.corrupted - corruptedBefore;

      // Phase 3: the faults stop; one more version, and the replica must catch up with all of it.
      proxy.setChunkFaults(NO_CHUNK_FAULTS);
      write('after/calm.txt', Buffer.from('calm again\n'));
      const converged = await fleet.expectConverged(['uk-london'], [], 40_000);
      await waitFor(
        async () => {
          const s = await fleet.masterStatus();
          const r = s.replicas.find((x: any) => x.name === 'uk-london');
          return r?.state === 'in-sync' && r.error === null;
        },
        { timeoutMs: 15_000, what: 'the master to show the replica in sync, without error' },
      );
      const read = await readers.stop();
      readers = undefined;
      await watcher.stop();

      const stats = proxy.stats;
      // At rest: every stored chunk is what its address says, every chunk of the final version
      // is there (those offered corrupted among them), and `outpost verify` agrees.
      await replica.stop();
      const data = join(fleet.dir.path, 'replica-uk-london');
      const db = new BetterSqlite3(join(data, 'replica.sqlite'), { readonly: true });
      const stored = new Map<string, string>();
      const finalChunks = new Set<string>();
      const wrongFiles: string[] = [];
      try {
        const rows = db.prepare('SELECT hash, data FROM chunks').all() as { hash: string; data: Buffer }[];
        for (const row of rows) stored.set(row.hash, sha(row.data));
        // Every file of the final version, put together from the stored chunks, is what the
        // master published.
        const chunksOf = db.prepare(
          'SELECT chunk_hash AS hash FROM content_chunks WHERE content_hash = ? ORDER BY seq',
        );
        const chunk = db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck();
        for (const e of converged.entries) {
          const parts = (chunksOf.all(e.hash) as { hash: string }[]).map((c) => {
            finalChunks.add(c.hash);
            return (chunk.get(c.hash) as Buffer | undefined) ?? Buffer.alloc(0);
          });
          const body = Buffer.concat(parts);
          if (body.length !== e.size || sha(body) !== e.hash) wrongFiles.push(e.path);
        }
      } finally {
        db.close();
      }
      const damaged = [...stored].filter(([hash, actual]) => hash !== actual);
      const missing = [...finalChunks].filter((h) => !stored.has(h));
      const refetched = [...stats.corruptedHashes].filter((h) => finalChunks.has(h));
      const verify = await runCli(['verify', '--data', data]);

      console.log(
        `fault-injection seed=${SEED}: ${((Date.now() - started) / 1000).toFixed(1)}s; ` +
          `chunk responses ${stats.chunkResponses}, corrupted offered ${stats.corrupted} ` +
          `(phase 1 ${phase1.corrupted}, 100% phase ${phase2Corrupted}; ${stats.corruptedHashes.size} distinct chunks, ` +
          `${refetched.length} of the final version's ${finalChunks.size}, all stored intact), by kind {${fmt(stats.chunkFaults)}}, ` +
          `stalled ${stats.stalled} (cut ${stats.cut}); master frames ${stats.framesFromMaster}, ` +
          `frame faults {${fmt(stats.frameFaults)}}, WebSocket links ${stats.upgrades}; ` +
          `phase 1: ${versions} versions, replica at v${phase1Status.version} (master v${phase1Status.masterVersion}); ` +
          `blocked v${blocked.version} NACKed: "${nacked.error.slice(0, 160)}"; converged to v${converged.version}; ` +
          `reads ${read.reads} (verified ${read.verified}, unverifiable ${read.unverifiable}) ` +
          `statuses {${fmt(read.statuses)}} over ${read.versionsSeen.size} versions, bad ${read.bad.length}; ` +
          `chunks stored ${stored.size}, damaged ${damaged.length}; ` +
          `master showed errors {${fmt(watcher.errors)}}`,
      );

      // Not one corrupt body was served, and the readers saw real traffic across versions.
      expect(read.bad.slice(0, 20)).toEqual([]);
      expect(read.verified).toBeGreaterThan(100);
      expect(read.versionsSeen.size).toBeGreaterThan(2);
      // Chunks come in batches now, so fewer requests carry faults than with one request per chunk.
      expect(stats.corrupted).toBeGreaterThanOrEqual(600);
      expect(stats.frameFaults.size).toBeGreaterThan(3);
      // Not one corrupt chunk stored; every chunk of the final version there, those that were
      // offered corrupted among them; and `outpost verify` agrees.
      expect(damaged).toEqual([]);
      expect(missing).toEqual([]);
      expect(wrongFiles).toEqual([]);
      for (const h of refetched) expect(stored.get(h)).toBe(h);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    } finally {
      await readers?.stop();
      await watcher?.stop();
      await proxy?.close();
      await fleet.stop();
    }
  }, 90_000);
});
