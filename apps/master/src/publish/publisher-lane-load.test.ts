import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isClean, verifyStore } from '@outpost/store';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const MiB = 1024 * 1024;

const f = publisherFixture('outpost-lane-load-', { laneBytes: 16 * MiB });

/** Writes `body` at `rel`, dated a minute back (settled). */
function put(rel: string, body: Buffer) {
  const abs = join(f.content, rel);
  writeFileSync(abs, body);
  const when = new Date(Date.now() - 60_000);
  utimesSync(abs, when, when);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A deterministic pseudo-random stream, so that a failing run can be told apart from another. */
function prng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe('the large-file lane under load', () => {
  it('cuts every small version beside large reads: no store lock error, numbers in order, every version whole', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
    const rand = prng(42);
    let names = Array.from({ length: 150 }, (_, i) => `s${i}.txt`);
    for (const n of names) put(n, randomBytes(1 + rand(8192)));
    const { p, published } = await f.reconciled({ log, retention: { versions: 20 } });

    // Three large files, read one at a time in the lane: its writer thread stores each in
    // 8 MiB transactions while the batches below commit their versions on the main connection.
    const bigs = ['big-1.bin', 'big-2.bin', 'big-3.bin'];
    for (const b of bigs) put(b, randomBytes(40 * MiB));
    const failures: string[] = [];
    const submit = (paths: string[]) =>
      p.submit(paths).catch((err: Error) => {
        failures.push(err.message);
      });
    await submit([...bigs, names[0]!]);

    // Small edits, creates, deletes and renames, and now and then a batch of a few MiB (stored
    // by the batch's own writer thread), until the lane has published all three large files.
    let next = names.length;
    let rounds = 0;
    /** Batches submitted while the lane was reading, of them with a few MiB (the batch's own thread). */
    let beside = 0;
    let besideThreaded = 0;
    const deadline = Date.now() + 60_000;
    const laneDone = () => bigs.every((b) => f.store.versions.liveTree().has(b));
    while (!laneDone() || rounds < 40) {
      if (Date.now() > deadline) throw new Error(`the lane did not finish in time (${rounds} rounds)`);
      rounds++;
      const touched: string[] = [];
      for (let k = 0; k < 1 + rand(6); k++) {
        const op = rand(10);
        if (op < 3 || names.length < 20) {
          const n = `s${next++}.txt`;
          put(n, randomBytes(1 + rand(64 * 1024)));
          names.push(n);
          touched.push(n);
        } else if (op < 6) {
          const n = names[rand(names.length)]!;
          put(n, randomBytes(1 + rand(64 * 1024)));
          touched.push(n);
        } else if (op < 8) {
          const n = names.splice(rand(names.length), 1)[0]!;
          unlinkSync(join(f.content, n));
          touched.push(n);
        } else {
          const from = names.splice(rand(names.length), 1)[0]!;
          const to = `r${next++}.txt`;
          renameSync(join(f.content, from), join(f.content, to));
          names.push(to);
          touched.push(from, to);
        }
      }
      if (rounds % 8 === 0) {
        for (let k = 0; k < 5; k++) {
          const n = `m${next++}.bin`;
          put(n, randomBytes(2 * MiB));
          names.push(n);
          touched.push(n);
        }
      }
      if (p.laneReading !== null) {
        beside++;
        if (rounds % 8 === 0) besideThreaded++;
      }
      await submit(touched);
    }
    names = [...new Set(names)];

    // Failed batches are retried: let any retry land before judging the result.
    const settled = Date.now() + 30_000;
    while (p.failure !== null || p.publishing !== null) {
      if (Date.now() > settled) throw new Error('publishing did not settle');
      await new Promise((r) => setTimeout(r, 20));
    }
    await p.close();

    // The load did run beside the lane's reads, or this test proves nothing.
    expect(beside).toBeGreaterThanOrEqual(10);
    expect(besideThreaded).toBeGreaterThanOrEqual(1);
    const locked = lines.filter((l) => /SQLITE_BUSY|database is locked/i.test(l));
    expect(locked.slice(0, 3)).toEqual([]);
    expect(failures).toEqual([]);
    expect(lines.filter((l) => JSON.parse(l).level >= 50).slice(0, 3)).toEqual([]);

    // Numbers strictly increasing, each cut once.
    expect(published.length).toBeGreaterThan(40);
    for (let i = 1; i < published.length; i++) expect(published[i]).toBe(published[i - 1]! + 1);
    const kept = f.store.versions.list().map((v) => v.version);
    expect(kept).toEqual(published.slice(-kept.length).reverse());

    // Every kept version whole: each entry's chunks stored, adding up to the entry.
    for (const v of kept) {
      for (const entry of f.store.versions.treeAt(v)!.values()) {
        let size = 0;
        for (const c of entry.chunks) {
          expect(f.store.chunks.get(c.hash)?.length, `${entry.path} of version ${v}`).toBe(c.size);
          size += c.size;
        }
        expect(size).toBe(entry.size);
      }
    }
    expect(isClean(verifyStore(f.store))).toBe(true);

    // The last version is the content directory, byte for byte.
    const tree = f.store.versions.liveTree();
    const onDisk = readdirSync(f.content).sort();
    expect([...tree.keys()].sort()).toEqual(onDisk);
    for (const n of onDisk) expect(tree.get(n)?.hash, n).toBe(sha(readFileSync(join(f.content, n))));
  });
});
