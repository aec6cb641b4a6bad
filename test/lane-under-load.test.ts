import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { getJson } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

const MiB = 1024 * 1024;

/** `n` bytes of noise, another stream for each `seed` (no chunk shared between files). */
function noise(n: number, seed: number): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** A deterministic pseudo-random stream. */
function prng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LOCKED = /SQLITE_BUSY|database is locked/i;

describe('the master’s large-file lane under load, end to end', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('publishes a stream of small changes while three large files are read; no lock error, versions in order, the replica ends identical', async () => {
    const rand = prng(7);
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`s${i}.txt`] = `seed ${i}\n`.repeat(1 + rand(200));
    const f = new Fleet({ files, masterArgs: ['--lane-mib', '8', '--keep-versions', '10'] });
    fleet = f;
    await f.startMaster();
    await f.startReplica('uk-london', 'uk');
    await f.expectConverged();

    // Written beside the content directory, settled, and moved in whole.
    const bigs = ['big-1.bin', 'big-2.bin', 'big-3.bin'];
    bigs.forEach((b, i) => {
      const staged = join(f.dir.path, b);
      writeFileSync(staged, noise(40 * MiB, 11 + i));
      const past = new Date(Date.now() - 60_000);
      utimesSync(staged, past, past);
      renameSync(staged, join(f.content, b));
    });
    await waitFor(async () => (await f.masterStatus()).publishing !== null, {
      what: 'the lane to take the large files',
    });

    /** True once the master's latest version holds each path as it is on disk (or not, when gone). */
    const published = async (paths: readonly string[]) => {
      const s = await f.masterStatus();
      const v = await getJson(`${f.master.url}/_outpost/api/v1/versions/${s.version}`);
      const held = new Map<string, string>(
        v.entries.map((e: { path: string; hash: string }) => [e.path, e.hash]),
      );
      return paths.every((p) => {
        const abs = join(f.content, p);
        return existsSync(abs) ? held.get(p) === sha(readFileSync(abs)) : !held.has(p);
      });
    };

    // Round after round of small changes, each waited for until the master publishes it, until
    // the large files are published too.
    let names = Object.keys(files);
    let next = names.length;
    let rounds = 0;
    let beside = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const lane = (await f.masterStatus()).publishing !== null;
      if (!lane && rounds >= 15) break;
      if (Date.now() > deadline) throw new Error(`the lane did not finish in time (${rounds} rounds)`);
      if (lane) beside++;
      rounds++;
      const touched: string[] = [];
      for (let k = 0; k < 1 + rand(4); k++) {
        const op = rand(10);
        if (op < 4 || names.length < 20) {
          const n = `n${next++}.txt`;
          f.write(n, `new ${n}\n`.repeat(1 + rand(2000)));
          names.push(n);
          touched.push(n);
        } else if (op < 7) {
          const n = names[rand(names.length)]!;
          f.write(n, `edit ${rounds}\n`.repeat(1 + rand(2000)));
          touched.push(n);
        } else if (op < 9) {
          const n = names.splice(rand(names.length), 1)[0]!;
          f.remove(n);
          touched.push(n);
        } else {
          const from = names.splice(rand(names.length), 1)[0]!;
          const to = `r${next++}.txt`;
          f.rename(from, to);
          names.push(to);
          touched.push(from, to);
        }
      }
      await waitFor(() => published(touched), { timeoutMs: 20_000, what: `round ${rounds} to be published` });
    }
    names = [...names, ...bigs];

    const v = await f.expectConverged(undefined, [], 60_000);
    expect(v.entries.map((e) => e.path).sort()).toEqual(names.sort());
    // The load did run beside the lane's reads, or this test proves nothing.
    expect(beside).toBeGreaterThanOrEqual(3);

    for (const [who, svc] of [
      ['master', f.master],
      ['replica', f.replica('uk-london')],
    ] as const) {
      const bad = svc.logs.filter((l) => LOCKED.test(JSON.stringify(l)) || Number(l.level ?? 0) >= 50);
      expect(bad.slice(0, 3), `${who} logs`).toEqual([]);
    }
    // Numbers strictly increasing, each cut once; the replica switched forward only.
    const cut = f.master.logs.filter((l) => l.msg === 'published version').map((l) => Number(l.version));
    for (let i = 1; i < cut.length; i++) expect(cut[i]).toBe(cut[i - 1]! + 1);
    const switched = f
      .replica('uk-london')
      .logs.filter((l) => l.msg === 'switched to version')
      .map((l) => Number(l.version));
    for (let i = 1; i < switched.length; i++) expect(switched[i]).toBeGreaterThan(switched[i - 1]!);
    expect(switched.at(-1)).toBe(v.version);
  }, 120_000);
});
