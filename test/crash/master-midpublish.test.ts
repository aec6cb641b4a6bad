import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { merkleRoot } from '@outpost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { get, getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { CrashFleet } from './crash-fleet.js';
import { crashSeed, Prng } from './prng.js';
import { LiveProbe, snapshotStore } from './store-probe.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface VersionRow {
  version: number;
  root: string;
  files: number;
  bytes: number;
}

describe('kill -9 of the master in the middle of publishing', () => {
  let fleet: CrashFleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it('leaves no version half-written, never reuses a number, and finds the changes made meanwhile', async () => {
    const seed = crashSeed();
    console.log(`master mid-publish seed ${seed} (OUTPOST_CRASH_SEED=${seed} replays this plan)`);
    const rng = new Prng(seed).fork('midpublish');
    fleet = await CrashFleet.create({ replicas: ['uk-a'], masterArgs: ['--keep-versions', '20'] });
    const f = fleet;
    const tree = new Map<string, string>();
    const written = new Map<string, Set<string>>();
    let gen = 0;
    const write = (rel: string, data: Buffer) => {
      const abs = join(f.content, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(`${abs}.${++gen}.tmp`, data);
      renameSync(`${abs}.${gen}.tmp`, abs);
      const h = sha(data);
      tree.set(rel, h);
      if (!written.has(rel)) written.set(rel, new Set());
      written.get(rel)!.add(h);
    };
    const remove = (rel: string) => {
      rmSync(join(f.content, rel), { force: true });
      tree.delete(rel);
    };
    for (let i = 0; i < 5; i++) write(`base/f${i}.txt`, Buffer.from(`base ${i}\n`));

    const versions = () => getJson<VersionRow[]>(`${f.master.url}/_outpost/api/v1/versions`);
    /** The master has published exactly what is on disk. */
    const caughtUp = () =>
      waitFor(
        async () => {
          const s = await getJson(`${f.master.url}/_outpost/api/v1/status`);
          const v = await getJson(`${f.master.url}/_outpost/api/v1/versions/${s.version}`);
          if (v.entries.length !== tree.size) return null;
          for (const e of v.entries) if (tree.get(e.path) !== e.hash) return null;
          return v as { version: number; root: string };
        },
        { timeoutMs: 20_000, what: 'the master to publish what is on disk' },
      );

    await f.start(f.master);
    await f.start(f.replicas[0]!);
    await caughtUp();

    const roots = new Map<number, string>();
    let landed = 0;
    for (let round = 0; round < 4; round++) {
      const before = await versions();
      for (const v of before) roots.set(v.version, v.root);
      const newestBefore = before[0]!.version;

      // A large batch: 40 files of 128–512 KiB. Kill once a random share of it is stored.
      const probe = new LiveProbe(f.master.store);
      const baseline = probe.lastChunk();
      probe.close();
      const batch: string[] = [];
      let bytes = 0;
      for (let i = 0; i < 40; i++) {
        const rel = `batch/r${round}/f${i}.bin`;
        const data = rng.bytes(rng.int(128 * 1024, 512 * 1024));
        bytes += data.length;
        write(rel, data);
        batch.push(rel);
      }
      const share = 0.1 + 0.8 * rng.next();
      const deadline = Date.now() + 5_000;
      for (;;) {
        const p = new LiveProbe(f.master.store);
        const stored = p.storedSince(baseline);
        p.close();
        if (stored >= share * bytes || Date.now() > deadline) break;
        await sleep(1);
      }
      await f.kill(f.master);
      const snap = snapshotStore(f.master.store);
      const batchHashes = batch.map((p) => tree.get(p)!);
      const committed = batchHashes.filter((h) => snap?.contents.has(h)).length;
      if (committed < batch.length) landed++;
      console.log(
        `round ${round}: killed with ${(share * 100).toFixed(0)}% of the batch's bytes aimed at; ` +
          `${committed}/${batch.length} of its files committed, current version ${snap?.current}`,
      );

      // Changes made while the master is down: edits, a deletion, a new file.
      write(`base/f${round}.txt`, Buffer.from(`edited while down, round ${round}\n`));
      remove(`batch/r${round}/f0.bin`);
      write(`down/r${round}.txt`, Buffer.from(`added while down ${round}\n`));

      const verify = await f.verify(f.master);
      expect(verify.code, verify.output).toBe(0);
      expect(verify.report.current).toBe(snap?.current);

      await f.start(f.master);
      const latest = await caughtUp();
      const after = await versions();
      // Forward only: no number reused with other content, the newest only grows.
      expect(after[0]!.version).toBeGreaterThan(newestBefore);
      expect(latest.version).toBe(after[0]!.version);
      for (let i = 1; i < after.length; i++) expect(after[i]!.version).toBeLessThan(after[i - 1]!.version);
      for (const v of after) {
        if (roots.has(v.version)) expect(v.root, `version ${v.version} reused`).toBe(roots.get(v.version));
        roots.set(v.version, v.root);
        // Whole versions: the entries give the root `outpost verify` recomputed, and the counts.
        const detail = await getJson(`${f.master.url}/_outpost/api/v1/versions/${v.version}`);
        const leaves = detail.entries.map((e: any) => ({ path: e.path, hash: e.hash, size: e.size }));
        expect(merkleRoot(leaves), `version ${v.version}'s entries give its root`).toBe(v.root);
        expect(leaves.length).toBe(v.files);
        expect(leaves.reduce((s: number, e: any) => s + e.size, 0)).toBe(v.bytes);
        for (const e of leaves)
          expect(written.get(e.path)?.has(e.hash), `${e.path} in ${v.version}`).toBe(true);
      }
    }
    // Most kills should land mid-batch; the checks above hold wherever they land.
    console.log(`${landed}/4 kills landed before the batch was committed`);

    // The replica follows: the master's latest, every file served byte for byte.
    const latest = await caughtUp();
    const r = f.replicas[0]!;
    await waitFor(
      async () => {
        const s = await getJson(`${r.url}/_outpost/api/v1/status`);
        return s.version === latest.version && s.root === latest.root;
      },
      { timeoutMs: 20_000, what: 'the replica to reach the master' },
    );
    for (const [path, hash] of tree) {
      const res = await get(`${r.url}/${path}`);
      expect(res.status).toBe(200);
      expect(sha(res.body)).toBe(hash);
    }
    await f.kill(f.master);
    await f.kill(r);
    for (const n of f.nodes) {
      const v = await f.verify(n);
      expect(v.code, v.output).toBe(0);
    }
  }, 120_000);
});
