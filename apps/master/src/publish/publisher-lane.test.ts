import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { takeCleanShutdown } from '@outpost/store';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const MiB = 1024 * 1024;

/** A hook that holds every lane read until released, counting the reads it was asked for. */
function gate() {
  let open = false;
  let waiting: (() => void)[] = [];
  const g = {
    calls: 0,
    hook: async (_rel: string, stopped: () => boolean) => {
      g.calls++;
      while (!open && !stopped()) await new Promise<void>((r) => waiting.push(r));
    },
    release() {
      open = true;
      for (const r of waiting) r();
      waiting = [];
    },
    /** Wakes a held read to look at its stop signal. */
    poke() {
      for (const r of waiting.splice(0)) r();
    },
  };
  return g;
}

const f = publisherFixture('outpost-lane-', { laneBytes: 2 * MiB });

/** Writes `body` at `rel`, dated a minute back (settled). */
function put(rel: string, body: Buffer | string) {
  const abs = join(f.content, rel);
  writeFileSync(abs, body);
  const when = new Date(Date.now() - 60_000);
  utimesSync(abs, when, when);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the large-file lane of the publisher', () => {
  it('publishes the rest of a batch, and later edits, while a large file is read; then the large file as its own version', async () => {
    put('seed.txt', 'seed\n');
    const g = gate();
    const { p, published } = await f.reconciled({ laneReadHook: g.hook });
    const big = randomBytes(3 * MiB);
    put('big.bin', big);
    put('a.txt', 'a\n');
    await p.submit(['big.bin', 'a.txt']);
    expect(published).toEqual([1, 2]);
    await vi.waitUntil(() => g.calls > 0, { timeout: 5000, interval: 5 });
    expect(p.laneReading).toBe('big.bin');
    expect(f.store.versions.liveTree().has('a.txt')).toBe(true);
    expect(f.store.versions.liveTree().has('big.bin')).toBe(false);
    // Status counts the file in the lane as being published.
    expect(p.publishing).toMatchObject({ filesDone: 0, filesTotal: 1 });
    put('b.txt', 'b\n');
    await p.submit(['b.txt']);
    expect(published).toEqual([1, 2, 3]);
    g.release();
    await vi.waitUntil(() => published.length === 4, { timeout: 5000, interval: 5 });
    const entry = f.store.versions.liveTree().get('big.bin');
    expect(entry).toMatchObject({ size: big.length, hash: sha(big) });
    expect(p.publishing).toBeNull();
    await p.close();
  });

  it('says, before a version takes the number its chunks were told for, that they are for the next one', async () => {
    put('seed.txt', 'seed\n');
    // Lets the first 10 MiB through (8 MiB of it committed and told), then holds the read.
    let reads = 0;
    let open = false;
    const hook = async (_rel: string, stopped: () => boolean) => {
      if (++reads <= 10) return;
      while (!open && !stopped()) await new Promise((r) => setTimeout(r, 5));
    };
    const events: string[] = [];
    const { p } = await f.reconciled({
      laneReadHook: hook,
      onStoredAhead: (version) => events.push(`told ${version}`),
      onToldLater: (from, to) => events.push(`later ${from}→${to}`),
      onPublished: (v) => events.push(`published ${v.version}`),
    });
    const big = randomBytes(12 * MiB);
    put('big.bin', big);
    await p.submit(['big.bin']);
    await vi.waitUntil(() => events.includes('told 2'), { timeout: 5000, interval: 5 });
    put('a.txt', 'a\n');
    await p.submit(['a.txt']);
    put('b.txt', 'b\n');
    await p.submit(['b.txt']);
    open = true;
    await vi.waitUntil(() => f.store.versions.liveTree().has('big.bin'), { timeout: 5000, interval: 5 });
    await p.close();
    // Told for 2; two edits take 2 and 3, each said first; the rest of the file is told for 4, its version.
    const toldAt = events.indexOf('told 2');
    expect(events.slice(toldAt).filter((e) => e !== 'told 2' && e !== 'told 4')).toEqual([
      'later 2→3',
      'published 2',
      'later 3→4',
      'published 3',
      'published 4',
    ]);
    expect(f.store.versions.liveTree().get('big.bin')?.hash).toBe(sha(big));
  });

  it('says nothing of the kind once the lane has cut its version, or when it told nothing', async () => {
    put('seed.txt', 'seed\n');
    const events: string[] = [];
    const { p } = await f.reconciled({
      onStoredAhead: (version) => events.push(`told ${version}`),
      onToldLater: (from, to) => events.push(`later ${from}→${to}`),
      onPublished: (v) => events.push(`published ${v.version}`),
    });
    // 3 MiB in the lane: under the write buffer's 8 MiB, so nothing is told ahead.
    put('big.bin', randomBytes(3 * MiB));
    await p.submit(['big.bin']);
    await vi.waitUntil(() => f.store.versions.liveTree().has('big.bin'), { timeout: 5000, interval: 5 });
    put('huge.bin', randomBytes(12 * MiB));
    await p.submit(['huge.bin']);
    await vi.waitUntil(() => f.store.versions.liveTree().has('huge.bin'), { timeout: 5000, interval: 5 });
    put('a.txt', 'a\n');
    await p.submit(['a.txt']);
    await p.close();
    expect(events.filter((e) => !e.startsWith('told'))).toEqual([
      'published 1',
      'published 2',
      'published 3',
      'published 4',
    ]);
    expect(events).toContain('told 3');
  });

  it('never publishes bytes that changed while the lane read them: it reads the file again', async () => {
    put('seed.txt', 'seed\n');
    const g = gate();
    const { p, published } = await f.reconciled({ laneReadHook: g.hook });
    const first = randomBytes(3 * MiB);
    put('big.bin', first);
    await p.submit(['big.bin']);
    await vi.waitUntil(() => g.calls > 0, { timeout: 5000, interval: 5 });
    const second = randomBytes(3 * MiB);
    writeFileSync(join(f.content, 'big.bin'), second);
    g.release();
    await vi.waitUntil(() => f.store.versions.liveTree().has('big.bin'), { timeout: 5000, interval: 5 });
    expect(f.store.versions.liveTree().get('big.bin')?.hash).toBe(sha(second));
    expect(published).toEqual([1, 2]);
    await p.close();
  });

  it('holds chunk collection back while the lane reads, and collects once it is idle', async () => {
    put('seed.txt', 'seed\n');
    const g = gate();
    const { p, published } = await f.reconciled({ laneReadHook: g.hook, retention: { versions: 1 } });
    put('big.bin', randomBytes(3 * MiB));
    await p.submit(['big.bin']);
    await vi.waitUntil(() => g.calls > 0, { timeout: 5000, interval: 5 });
    put('a.txt', 'a\n');
    await p.submit(['a.txt']);
    expect(published).toEqual([1, 2]);
    // Kept past the policy (one version) while the lane holds chunks no version names yet.
    expect(f.store.versions.get(1)).toBeDefined();
    g.release();
    await vi.waitUntil(() => published.length === 3 && f.store.versions.get(2) === undefined, {
      timeout: 5000,
      interval: 5,
    });
    expect(f.store.versions.get(1)).toBeUndefined();
    await p.close();
  });

  it('stops a held read at close, publishes none of it, leaves no clean-stop mark, and the next start reads the file', async () => {
    put('seed.txt', 'seed\n');
    const g = gate();
    const { p, published } = await f.reconciled({ laneReadHook: g.hook });
    const big = randomBytes(3 * MiB);
    put('big.bin', big);
    await p.submit(['big.bin']);
    await vi.waitUntil(() => g.calls > 0, { timeout: 5000, interval: 5 });
    const started = Date.now();
    const closed = p.close();
    g.poke();
    await closed;
    // Held, the read would never end: a close that waited for it would hang. Prompt, then, with
    // room for a busy machine.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(published).toEqual([1]);
    expect(takeCleanShutdown(f.store)).toBe(false);
    // The startup reconcile reads it itself, whatever its size: the lane (held shut) is not open yet.
    const g2 = gate();
    const again = await f.reconciled({ laneReadHook: g2.hook });
    expect(g2.calls).toBe(0);
    expect(again.published).toEqual([2]);
    expect(f.store.versions.liveTree().get('big.bin')?.hash).toBe(
      sha(readFileSync(join(f.content, 'big.bin'))),
    );
    await again.p.close();
  });

  it('drops a file deleted while the lane read it', async () => {
    put('seed.txt', 'seed\n');
    const g = gate();
    const { p, published } = await f.reconciled({ laneReadHook: g.hook });
    put('big.bin', randomBytes(3 * MiB));
    await p.submit(['big.bin']);
    await vi.waitUntil(() => g.calls > 0, { timeout: 5000, interval: 5 });
    unlinkSync(join(f.content, 'big.bin'));
    g.release();
    await vi.waitUntil(() => p.laneReading === null && p.publishing === null, { timeout: 5000, interval: 5 });
    await p.submit([]);
    expect(published).toEqual([1]);
    expect(f.store.versions.liveTree().has('big.bin')).toBe(false);
    await p.close();
  });
});
