import { createHash } from 'node:crypto';
import { createFastCdcChunker } from '@outpost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type ByteMeter, startByteMeter } from './helpers/byte-meter.js';
import { Fleet } from './helpers/fleet.js';
import { noise } from './helpers/noise.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Bytes on the wire, counted by a TCP proxy between the replica and the master (WebSocket and
 * HTTP alike): a change costs what changed, not the size of the file or of the tree.
 */

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function chunksOf(data: Buffer): Buffer[] {
  const chunker = createFastCdcChunker();
  return [...chunker.push(data), ...chunker.finish()];
}

describe('bytes on the wire', () => {
  let fleet: Fleet | undefined;
  let meter: ByteMeter | undefined;
  afterEach(async () => {
    await meter?.close();
    await fleet?.stop();
    fleet = undefined;
    meter = undefined;
  });

  async function start(files: Record<string, Buffer>) {
    fleet = await Fleet.start({ files });
    meter = await startByteMeter(fleet.master.url);
    await fleet.startReplica('uk-london', 'uk', { master: meter.url });
    await fleet.expectConverged();
    return { fleet, meter };
  }

  it('a byte flipped in a 32 MiB file costs its changed chunks, not the file or its chunk list', async () => {
    const big = noise(32 * 1024 * 1024, 'big');
    const { fleet, meter } = await start({ 'big.bin': big });
    const initial = meter.bytes().total;
    expect(initial).toBeGreaterThan(big.length);

    const edited = Buffer.from(big);
    edited[edited.length >> 1]! ^= 0x01;
    const before = new Set(chunksOf(big).map(sha));
    const after = chunksOf(edited);
    const changed = after.filter((c) => !before.has(sha(c))).reduce((n, c) => n + c.length, 0);
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThanOrEqual(2 * 256 * 1024);

    meter.reset();
    fleet.write('big.bin', edited);
    await fleet.expectConverged();
    const { up, down, total } = meter.bytes();
    // The chunk list alone of 32 MiB (~500 chunks) is ~45 KB of JSON: it must not travel; nor
    // the changed chunk, told as a patch of the one it replaces (the byte and its place).
    expect(total, `up ${up}, down ${down}, changed chunks ${changed}`).toBeLessThan(4 * 1024);
  });

  it('a line edited in each of many small files costs the edits, not the files', async () => {
    const files: Record<string, Buffer> = {};
    const line = (i: number) => `line ${i} of a text file that an editor keeps changing\n`;
    const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => line(i)).join(''));
    // Small enough to ride inline in a push, and a chunk of their own each (fetched).
    for (let i = 0; i < 40; i++) files[`small/${i}.txt`] = text(100);
    for (let i = 0; i < 10; i++) files[`mid/${i}.txt`] = text(600);
    const { fleet, meter } = await start(files);

    meter.reset();
    let size = 0;
    for (const [path, body] of Object.entries(files)) {
      fleet.write(path, Buffer.from(body.toString().replace(line(50), 'line 50, edited\n')));
      size += body.length;
    }
    await fleet.expectConverged();
    const { up, down, total } = meter.bytes();
    expect(size).toBeGreaterThan(500 * 1024);
    // 50 edits of ~40 bytes, with the manifest's JSON around them (path, hashes, the patch).
    expect(total, `up ${up}, down ${down}`).toBeLessThan(40 * 1024);
  });

  it('renaming files moves no content', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 20; i++) files[`docs/file-${i}.bin`] = noise(50 * 1024, `f${i}`);
    const { fleet, meter } = await start(files);

    meter.reset();
    for (let i = 0; i < 20; i++) fleet.rename(`docs/file-${i}.bin`, `archive/file-${i}.bin`);
    await fleet.expectConverged();
    const { total } = meter.bytes();
    // 1 MiB of files renamed: the manifest names 40 paths, and no chunk is fetched.
    expect(total).toBeLessThan(32 * 1024);
  });

  it('--max-rate holds what the replica takes from the master to the cap, in every second; status tells the pace', async () => {
    const mib = 1024 * 1024;
    fleet = await Fleet.start({ files: { 'big.bin': noise(3 * mib, 'capped') } });
    meter = await startByteMeter(fleet.master.url);
    const m = meter;
    const samples: { at: number; down: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: performance.now(), down: m.bytes().down }), 50);
    // The replica's status while it fetches: progress, its pace and what is left at that pace.
    const progress: {
      bytesDone: number;
      bytesTotal: number;
      bytesPerSecond?: number | null;
      etaSeconds?: number | null;
    }[] = [];
    let watching = true;
    const f = fleet;
    const watch = async () => {
      while (watching) {
        const a = (await f.replicaStatus('uk-london')).applying;
        if (a) progress.push(a);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    let watcher: Promise<void> | undefined;
    try {
      await fleet.startReplica('uk-london', 'uk', { master: m.url, args: ['--max-rate', '1m'] });
      watcher = watch();
      await fleet.expectConverged();
    } finally {
      clearInterval(sampler);
      watching = false;
      await watcher;
    }
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.at(-1)!.bytesTotal).toBe(3 * mib);
    const paced = progress.filter((p) => p.bytesPerSecond != null);
    expect(
      paced.length,
      JSON.stringify(progress.map((p) => [p.bytesDone, p.bytesPerSecond])),
    ).toBeGreaterThan(0);
    for (const p of paced) {
      expect(p.bytesPerSecond!).toBeGreaterThan(0.4 * mib);
      expect(p.bytesPerSecond!).toBeLessThan(1.5 * mib);
      // What is left, at about the cap: (3 MiB − done) ÷ pace, rounded up.
      expect(p.etaSeconds).toBe(Math.ceil((p.bytesTotal - p.bytesDone) / p.bytesPerSecond!));
    }
    expect(paced[0]!.etaSeconds!).toBeGreaterThanOrEqual(1);
    samples.push({ at: performance.now(), down: m.bytes().down });
    expect(m.bytes().down).toBeGreaterThan(3 * mib);

    // The most that came down in any one second: the cap and its burst (a tenth of a second's
    // worth), with room for the bytes in flight when a pause starts. Uncapped, 3 MiB come in
    // well under a second here; paced only by the replica's reads, all 3 MiB crossed within
    // one second too, into socket buffers, and the replica then took 3 s to read them.
    let most = 0;
    for (const a of samples) {
      const b = samples.findLast((s) => s.at - a.at <= 1000);
      if (b) most = Math.max(most, b.down - a.down);
    }
    expect(most, `most bytes in one second: ${most}`).toBeLessThan(1.3 * mib);
    expect(most).toBeGreaterThan(0.5 * mib);
  });

  it('--wire-compression: always deflates, never does not, auto asks for raw chunks once they arrive fast (unless capped)', async () => {
    // 32 MiB of text: four 8 MiB batches, of which a replica asks for two before it has
    // seen any come in.
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 64; i++) files[`text/page-${i}.txt`] = words(512 * 1024, `page${i}`);
    const content = Object.values(files).reduce((n, b) => n + b.length, 0);
    fleet = await Fleet.start({ files });
    const meters: ByteMeter[] = [];
    const sync = async (name: string, args: string[]) => {
      const m = await startByteMeter(fleet!.master.url);
      meters.push(m);
      const replica = await fleet!.startReplica(name, 'uk', { master: m.url, args });
      return { m, replica };
    };
    try {
      const always = await sync('always', ['--wire-compression=always']);
      const never = await sync('never', ['--no-wire-compression']);
      // A threshold any loopback link clears: the choice flips after its first sample.
      const auto = await sync('auto', ['--wire-raw-above=64k']);
      // Under a rate limit every byte saved is time saved: deflate however fast chunks come.
      const capped = await sync('capped', ['--wire-raw-above=64k', '--max-rate=64MiB']);
      await fleet.expectConverged();
      const [a, n, x] = [always.m.bytes().total, never.m.bytes().total, auto.m.bytes().total];
      expect(capped.m.bytes().total, 'capped').toBeLessThan(content * 0.6);
      expect(capped.replica.logs.some((l) => String(l.msg).startsWith('wire compression'))).toBe(false);
      expect(a, 'always').toBeLessThan(content * 0.6);
      expect(n, 'never').toBeGreaterThan(content);
      expect(x, 'auto').toBeGreaterThan(a + content / 8);
      expect(x, 'auto').toBeLessThan(n);
      // Down the replica's stdout, which may be read after its status said it converged.
      await waitFor(() => auto.replica.logs.find((l) => String(l.msg).startsWith('wire compression off')), {
        what: 'the switch to be logged',
      });
      expect(always.replica.logs.some((l) => String(l.msg).startsWith('wire compression'))).toBe(false);
    } finally {
      for (const m of meters) await m.close();
    }
  });

  it('a version that cannot fit on the data volume is refused before any chunk is fetched, and status says why', async () => {
    const big = noise(4 * 1024 * 1024, 'does-not-fit');
    fleet = await Fleet.start({ files: { 'big.bin': big } });
    meter = await startByteMeter(fleet.master.url);
    const f = fleet;
    // More space kept free than any machine has: no chunk can fit.
    await f.startReplica('uk-london', 'uk', { master: meter.url, args: ['--min-free-space', '921600G'] });
    const s = await waitFor(
      async () => {
        const s = await f.replicaStatus('uk-london');
        return s.error?.includes('not enough disk space') ? s : null;
      },
      { what: 'the refusal in the replica status' },
    );
    expect(s.error).toMatch(/the chunks to fetch need 4\.0 MiB, .* kept free \(--min-free-space\)/);
    expect(s.version).toBe(0);
    // The NACK carries the reason to the master's status.
    await waitFor(
      async () =>
        (await f.masterStatus()).replicas
          .find((r: { name: string }) => r.name === 'uk-london')
          ?.error?.includes('not enough disk space'),
      { what: "the refusal in the master's status" },
    );
    // The manifest and the status calls crossed; the 4 MiB file did not.
    expect(meter.bytes().total).toBeLessThan(256 * 1024);

    // The same data dir with no space kept free: the version is fetched and served.
    await f.replica('uk-london').stop();
    await f.startReplica('uk-london', 'uk', { master: meter.url });
    await f.expectConverged();
  });

  it('a replica killed mid-way through its first sync takes the download up where it stopped', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) files[`f${i}.bin`] = noise(512 * 1024, `f${i}`);
    const size = 24 * 512 * 1024;
    const f = await Fleet.start({ files });
    fleet = f;
    const m = await startByteMeter(f.master.url);
    meter = m;
    await f.masterCaughtUp();
    // Capped, so that it is caught part-way: the fetch stores what it verified as it goes, in
    // transactions of 4 MiB.
    await f.startReplica('uk-london', 'uk', { master: m.url, args: ['--max-rate', '4M'] });
    const part = 8 * 1024 * 1024;
    await waitFor(() => m.bytes().down >= part || undefined, { timeoutMs: 30_000, what: 'part fetched' });
    await f.replica('uk-london').kill();
    const before = m.bytes().down;
    expect(before).toBeLessThan(size);

    m.reset();
    await f.startReplica('uk-london', 'uk', { master: m.url });
    await f.expectConverged();
    const { down } = m.bytes();
    // Fetched again, all of it, before: the start swept what no version named yet.
    expect(down, `before the kill ${before}, after ${down}`).toBeLessThan(size - 3 * 1024 * 1024);
  });
});

/** Deterministic text of about `n` bytes that deflates to about a third. */
function words(n: number, label: string): Buffer {
  const vocabulary = noise(4096, `vocabulary:${label}`)
    .toString('hex')
    .match(/.{3,9}/g)!
    .slice(0, 300);
  const pick = noise(n, `words:${label}`);
  const out: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const w = vocabulary[pick[i % pick.length]! % vocabulary.length]!;
    out.push(w);
    size += w.length + 1;
  }
  return Buffer.from(out.join(' ')).subarray(0, n);
}
