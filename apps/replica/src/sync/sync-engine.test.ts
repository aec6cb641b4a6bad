import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import type { Manifest, WireChange } from '@outpost/protocol';
import { leanHeapHeld } from '@outpost/service';
import { openStore, type Store } from '@outpost/store';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptySnapshot, type Snapshot } from '../serve/snapshot.js';
import { fullManifest as full } from './full-manifest.test-helper.js';
import { SyncEngine } from './sync-engine.js';

let dir: string;
let store: Store;
let engine: SyncEngine;
let switched: Snapshot[];
/** The master's chunks, by address. */
const source = new Map<string, Buffer>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-engine-'));
  store = openStore(join(dir, 'replica.db'));
  switched = [];
  engine = new SyncEngine({
    store,
    log: pino({ level: 'silent' }),
    initial: emptySnapshot(),
    fetchChunk: async (hash) => {
      const data = source.get(hash);
      if (!data) throw new Error(`no chunk ${hash}`);
      return data;
    },
    onSwitch: (s) => switched.push(s),
  });
  engine.link = 'push';
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function entry(path: string, text: string): TreeEntry {
  const data = Buffer.from(text);
  const hash = sha256Hex(data);
  source.set(hash, data);
  return { path, size: data.length, hash, mtime: 1_700_000_000_000, chunks: [{ hash, size: data.length }] };
}

/** Version `version` holding `n` files, as a full manifest cut into parts of `size` changes. */
function inParts(version: number, n: number, size: number): Manifest[] {
  const entries = Array.from({ length: n }, (_, i) => entry(`d/f${i}.txt`, `v${version} file ${i}\n`));
  const changes: WireChange[] = entries.map(({ path, size: s, hash, mtime, chunks }) => ({
    op: 'put',
    path,
    size: s,
    hash,
    mtime,
    chunks,
  }));
  const head = { version, root: merkleRoot(entries), from: 0, full: true };
  const count = Math.ceil(n / size);
  return Array.from({ length: count }, (_, index) => ({
    ...head,
    changes: changes.slice(index * size, (index + 1) * size),
    part: { index, count },
  }));
}

describe('SyncEngine, a manifest in parts', () => {
  it('takes parts in one by one and switches only after the last', async () => {
    const parts = inParts(1, 25, 10);
    expect(await engine.offer(parts[0]!)).toEqual({ kind: 'partial', version: 1, next: 1 });
    expect(engine.busy).toBe(true);
    expect(engine.state).toBe('syncing');
    expect(await engine.offer(parts[1]!)).toEqual({ kind: 'partial', version: 1, next: 2 });
    expect(switched).toHaveLength(0);
    expect(store.versions.current().version).toBe(0);
    const done = await engine.offer(parts[2]!);
    expect(done).toMatchObject({ kind: 'applied', version: 1, root: parts[0]!.root });
    expect(engine.busy).toBe(false);
    expect(switched.map((s) => s.version)).toEqual([1]);
    expect(engine.snapshot.tree.size).toBe(25);
  });

  it('ignores a part out of order or from another link, and keeps waiting for the right one', async () => {
    const parts = inParts(1, 25, 10);
    await engine.offer(parts[0]!, 'push');
    expect(await engine.offer(parts[2]!, 'push')).toMatchObject({ kind: 'ignored', version: 1 });
    expect(await engine.offer(parts[1]!, 'pull')).toMatchObject({ kind: 'ignored', version: 1 });
    expect(await engine.offer(parts[1]!, 'push')).toMatchObject({ kind: 'partial', next: 2 });
    expect(await engine.offer(parts[2]!, 'push')).toMatchObject({ kind: 'applied', version: 1 });
  });

  it('ignores the rest once the link that brought part 0 went down', async () => {
    const parts = inParts(1, 25, 10);
    await engine.offer(parts[0]!, 'push');
    engine.dropParts('pull');
    expect(engine.busy).toBe(true);
    engine.dropParts('push');
    expect(await engine.offer(parts[1]!, 'push')).toMatchObject({ kind: 'ignored' });
    expect(engine.busy).toBe(false);
    expect(engine.state).toBe('syncing');
    expect(switched).toHaveLength(0);
  });

  it('starts over when a part 0 comes again, and a whole manifest replaces the parts', async () => {
    const parts = inParts(1, 25, 10);
    await engine.offer(parts[0]!, 'push');
    await engine.offer(parts[1]!, 'push');
    // The link came back, and the master sent the manifest again from its start.
    await engine.offer(parts[0]!, 'push');
    expect(await engine.offer(parts[2]!, 'push')).toMatchObject({ kind: 'ignored' });
    await engine.offer(parts[1]!, 'push');
    expect(await engine.offer(parts[2]!, 'push')).toMatchObject({ kind: 'applied', version: 1 });

    const next = inParts(2, 25, 10);
    await engine.offer(next[0]!, 'pull');
    const whole = { ...next[0]!, changes: next.flatMap((p) => p.changes), part: undefined };
    expect(await engine.offer(whole, 'push')).toMatchObject({ kind: 'applied', version: 2 });
    expect(await engine.offer(next[1]!, 'pull')).toMatchObject({ kind: 'ignored' });
    expect(engine.busy).toBe(false);
  });

  it('fails the whole version when the parts do not add up to the published root', async () => {
    const parts = inParts(1, 25, 10);
    const short = parts[2]!;
    const bad = { ...short, changes: short.changes.slice(1) };
    await engine.offer(parts[0]!);
    await engine.offer(parts[1]!);
    const out = await engine.offer(bad);
    expect(out).toMatchObject({ kind: 'failed', version: 1 });
    expect((out as { reason: string }).reason).toMatch(/root mismatch/);
    expect(engine.busy).toBe(false);
    expect(engine.error).toMatch(/version 1: root mismatch/);
    expect(store.versions.current().version).toBe(0);
  });
});

describe('SyncEngine, the heap a large manifest is applied on', () => {
  const settled = () => new Promise((r) => setImmediate(r));

  it('holds the heap lean from the first part of a large manifest until it is given up', async () => {
    // 25 parts of 2,000 changes announce 50,000: the tree's objects will dominate memory.
    const first = { ...inParts(1, 2000, 2000)[0]!, part: { index: 0, count: 25 } };
    expect(await engine.offer(first)).toEqual({ kind: 'partial', version: 1, next: 1 });
    expect(leanHeapHeld()).toBe(true);
    engine.dropParts('push');
    await engine.offer(inParts(2, 3, 10)[0]!);
    await settled();
    expect(leanHeapHeld()).toBe(false);
  });

  it('lets it go when the parts are superseded, and never holds it for a small manifest', async () => {
    const whole = (version: number, n: number): Manifest => {
      const { part: _, ...m } = inParts(version, n, n)[0]!;
      return m;
    };
    const first = { ...inParts(1, 10, 10)[0]!, part: { index: 0, count: 5_000 } };
    expect(await engine.offer(first)).toMatchObject({ kind: 'partial' });
    expect(leanHeapHeld()).toBe(true);
    expect(await engine.offer(whole(2, 3))).toMatchObject({ kind: 'applied', version: 2 });
    await settled();
    expect(leanHeapHeld()).toBe(false);
    const applied = engine.offer(whole(3, 5));
    expect(leanHeapHeld()).toBe(false);
    expect(await applied).toMatchObject({ kind: 'applied', version: 3 });
  });
});

/** Version `version` of the given files, as one whole full manifest. */
function manifestOf(version: number, files: Record<string, string>): Manifest {
  return full(
    version,
    Object.entries(files).map(([path, text]) => entry(path, text)),
  );
}

describe('SyncEngine, a manifest that comes late', () => {
  it('does not clear the error of a newer version, nor lower the master version it knows', async () => {
    const v1 = manifestOf(1, { 'a.txt': 'one\n' });
    expect(await engine.offer(v1)).toMatchObject({ kind: 'applied', version: 1 });
    // Version 2 cannot be had: its chunk is nowhere to be fetched.
    const v2 = manifestOf(2, { 'a.txt': 'one\n', 'b.txt': 'two, lost\n' });
    source.delete(sha256Hex(Buffer.from('two, lost\n')));
    expect(await engine.offer(v2)).toMatchObject({ kind: 'failed', version: 2 });
    expect(engine.error).toContain('version 2');
    // A pull answered with version 1 before version 2 was published, taken in only now.
    expect(await engine.offer(v1, 'pull')).toMatchObject({ kind: 'current', version: 1 });
    expect(engine.masterVersion).toBe(2);
    expect(engine.error).toContain('version 2');
    expect(engine.state).toBe('error');
    // The master's own word (a pong, a welcome) is what the latest is.
    engine.heard(1);
    expect(await engine.offer(v1)).toMatchObject({ kind: 'current', version: 1 });
    expect(engine.error).toBeNull();
    expect(engine.state).toBe('in-sync');
  });
});

describe('SyncEngine, after a restart', () => {
  it('says when the version it holds was applied, not never', async () => {
    expect(engine.lastSyncAt).toBeNull();
    const [whole] = inParts(1, 3, 3);
    const { part: _, ...manifest } = whole!;
    expect(await engine.offer(manifest)).toMatchObject({ kind: 'applied', version: 1 });
    const applied = store.versions.get(1)!.createdAt;
    const restarted = new SyncEngine({
      store,
      log: pino({ level: 'silent' }),
      initial: switched[0]!,
      fetchChunk: async () => Buffer.alloc(0),
      onSwitch: () => undefined,
    });
    expect(restarted.lastSyncAt).toBe(applied);
    expect(applied).toBeGreaterThan(0);
  });
});

describe('SyncEngine, chunks a failed version stored', () => {
  it('are dropped once another version is applied that does not name them, and kept for its retry till then', async () => {
    // Version 2's chunks come but one, which the master no longer has (collected).
    const kept = entry('a.txt', 'in versions 2 and 3\n');
    const lost = entry('b.txt', 'only in version 2: fetched\n');
    const gone = entry('c.txt', 'only in version 2: collected\n');
    source.delete(gone.hash);
    const failed = await engine.offer(full(2, [kept, lost, gone]));
    expect(failed).toMatchObject({ kind: 'failed', version: 2 });
    expect(store.chunks.has(lost.hash)).toBe(true);
    expect(engine.leftovers).toBe(true);

    // Version 3 is applied: what version 2 alone needed goes; what 3 names stays.
    const applied = await engine.offer(full(3, [kept, entry('d.txt', 'new in version 3\n')]));
    expect(applied).toMatchObject({ kind: 'applied', version: 3 });
    expect(store.chunks.has(lost.hash)).toBe(false);
    expect(store.chunks.has(kept.hash)).toBe(true);
    expect(engine.leftovers).toBe(false);
  });
});

describe('SyncEngine, manifests gone stale in its queue', () => {
  it('skips a version with a newer one queued behind it', async () => {
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let fetching = () => {};
    const started = new Promise<void>((r) => {
      fetching = r;
    });
    const slow = new SyncEngine({
      store,
      log: pino({ level: 'silent' }),
      initial: emptySnapshot(),
      fetchChunk: async (hash) => {
        fetching();
        await held;
        return source.get(hash)!;
      },
      onSwitch: (s) => switched.push(s),
    });
    const first = slow.offer(full(1, [entry('a.txt', 'one\n')]));
    // Version 1 is being fetched (slowly) when 2 and 3 come.
    await started;
    const second = slow.offer(full(2, [entry('a.txt', 'two\n')]));
    const third = slow.offer(full(3, [entry('a.txt', 'three\n')]));
    release();
    expect(await first).toMatchObject({ kind: 'applied', version: 1 });
    expect(await second).toMatchObject({
      kind: 'ignored',
      version: 2,
      reason: 'version 2 skipped: version 3 is queued behind it',
    });
    expect(await third).toMatchObject({ kind: 'applied', version: 3 });
    expect(switched.map((s) => s.version)).toEqual([1, 3]);
  });

  it('skips a version older than one whose chunks the master no longer had, unless it is the latest', async () => {
    const absent = new Set<string>();
    const batching = new SyncEngine({
      store,
      log: pino({ level: 'silent' }),
      initial: emptySnapshot(),
      fetchChunk: async (hash) => source.get(hash)!,
      fetchBatch: async (wanted, keep) => {
        const here = wanted.filter((w) => !absent.has(w.hash));
        keep(here.map((w) => ({ hash: w.hash, data: source.get(w.hash)! })));
        return { failed: [], absent: wanted.filter((w) => absent.has(w.hash)).map((w) => w.hash) };
      },
      onSwitch: (s) => switched.push(s),
    });
    const collected = entry('a.txt', 'version 5, collected at the master\n');
    absent.add(collected.hash);
    const five = await batching.offer(full(5, [collected]));
    expect(five).toMatchObject({
      kind: 'failed',
      version: 5,
      reason: expect.stringContaining('no longer keeps'),
    });
    // A pull answered before the failure brings version 4: collected too, and not the latest.
    batching.heard(7);
    expect(await batching.offer(full(4, [entry('a.txt', 'version 4\n')]))).toMatchObject({
      kind: 'ignored',
      version: 4,
    });
    // The master's latest is applied.
    expect(await batching.offer(full(7, [entry('a.txt', 'version 7\n')]))).toMatchObject({
      kind: 'applied',
      version: 7,
    });
  });
});

describe('SyncEngine, a master behind the version held', () => {
  it('passes over its older version without an error (its store rebuilt, it cuts one past ours next)', async () => {
    const a = entry('a.txt', 'held\n');
    expect(await engine.offer(full(5, [a]))).toMatchObject({ kind: 'applied', version: 5 });
    // A master whose store was lost answers with its version 0, the empty tree, while it reads.
    expect(await engine.offer(full(0, []), 'pull')).toMatchObject({ kind: 'ignored', version: 0 });
    expect(engine.error).toBeNull();
    expect(engine.snapshot.version).toBe(5);
  });
});
