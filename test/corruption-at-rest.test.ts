import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { startNoWebSocketProxy } from './helpers/no-websocket-proxy.js';
import { runCli } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Bytes unlike any other in the store: a seeded pattern. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Flips a byte of the SQLite file where `needle` is stored (after a checkpoint, with the service stopped). */
function corruptOnDisk(dbFile: string, needle: Buffer): void {
  const db = new BetterSqlite3(dbFile);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const file = readFileSync(dbFile);
  expect(file.indexOf(needle), 'the bytes are in the database file').toBeGreaterThan(0);
  // Free pages may still hold stale copies of a moved row: flip every copy, the live one among them.
  for (let at = file.indexOf(needle); at >= 0; at = file.indexOf(needle, at + 1)) file[at + 7]! ^= 0x5a;
  writeFileSync(dbFile, file);
}

/** GETs the whole body; null when the connection was cut or the status is not 200. */
async function body(url: string): Promise<{ status: number; bytes: Buffer | null }> {
  try {
    const res = await request(url);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, bytes: res.statusCode === 200 ? bytes : null };
  } catch {
    return { status: 0, bytes: null };
  }
}

describe('damage at rest in a replica store', () => {
  let fleet: Fleet | undefined;
  let closeProxy: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeProxy?.();
    closeProxy = undefined;
    await fleet?.stop();
    fleet = undefined;
  });

  const small = pattern(3000, 7);
  const big = pattern(1024 * 1024, 11);

  /** uk-london synced on `files` and then stopped, its scrub off: its store, the WAL checkpointed in. */
  async function storeAtRest(
    files: Record<string, Buffer | string>,
  ): Promise<{ f: Fleet; file: string; pageSize: number }> {
    const f = await Fleet.start({
      files,
      replicas: [{ name: 'uk-london', region: 'uk', args: ['--scrub-bytes-per-second', '0'] }],
      env: { OUTPOST_HEARTBEAT_MS: '500' },
    });
    fleet = f;
    await f.expectConverged();
    const file = join(f.dir.path, 'replica-uk-london', 'replica.sqlite');
    await f.replica('uk-london').stop();
    const db = new BetterSqlite3(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    return { f, file, pageSize };
  }

  it('is found by outpost verify, never served, and repaired from the master on read', async () => {
    fleet = await Fleet.start({
      files: { 'small.bin': small, 'big.bin': big },
      replicas: [{ name: 'uk-london', region: 'uk', args: ['--scrub-bytes-per-second', '0'] }],
    });
    await fleet.expectConverged();
    const dataDir = join(fleet.dir.path, 'replica-uk-london');
    await fleet.replica('uk-london').stop();
    corruptOnDisk(join(dataDir, 'replica.sqlite'), small.subarray(1000, 1064));
    corruptOnDisk(join(dataDir, 'replica.sqlite'), big.subarray(200_000, 200_064));

    const found = await runCli(['verify', '--data', dataDir]);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('DAMAGED');
    expect(found.stdout.match(/damaged chunk [0-9a-f]{64}/g)).toHaveLength(2);

    await fleet.startReplica('uk-london', 'uk', { args: ['--scrub-bytes-per-second', '0'] });
    const url = fleet.replica('uk-london').url;
    // Every answer is either the genuine bytes or no body at all, until the repair lands.
    for (const [path, want] of [
      ['small.bin', small],
      ['big.bin', big],
    ] as const) {
      const first = await body(`${url}/${path}`);
      expect(first.bytes === null || sha(first.bytes) === sha(want), `${path}: only genuine bytes`).toBe(
        true,
      );
      const good = await waitFor(
        async () => {
          const r = await body(`${url}/${path}`);
          if (r.bytes) expect(sha(r.bytes)).toBe(sha(want));
          return r.bytes;
        },
        { what: `${path} repaired` },
      );
      expect(sha(good)).toBe(sha(want));
    }
    // The log line travels through a pipe: wait for it rather than race it.
    const logs = fleet.replica('uk-london').logs;
    await waitFor(() => logs.filter((l) => l.msg === 'damaged chunk repaired').length === 2, {
      what: 'two repairs',
    });
    const clean = await runCli(['verify', '--data', dataDir]);
    expect(clean.code, clean.stdout).toBe(0);
  });

  it('that breaks the database itself: a replica moves it aside and syncs anew; a master says what to do', async () => {
    fleet = await Fleet.start({
      files: { 'small.bin': small, 'big.bin': big },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    await fleet.expectConverged();
    const dataDir = join(fleet.dir.path, 'replica-uk-london');
    const file = join(dataDir, 'replica.sqlite');
    await fleet.replica('uk-london').stop();
    // Cut short, as a copy taken mid-write or a failing disk leaves it: its tables end mid-page.
    const db = new BetterSqlite3(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    truncateSync(file, Math.floor(statSync(file).size / 3));

    await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged();
    const logs = fleet.replica('uk-london').logs;
    await waitFor(() => logs.find((l) => String(l.msg).startsWith('the store is damaged')), {
      what: 'the log line of the store moved aside',
    });
    expect(logs.find((l) => String(l.msg).startsWith('the store is damaged'))).toMatchObject({
      err: 'database disk image is malformed',
      movedTo: `${file}.damaged`,
    });
    expect(existsSync(`${file}.damaged`)).toBe(true);

    // A master's store holds the versions kept for rollback: it is never replaced unasked.
    await fleet.master.stop();
    const masterFile = join(fleet.dir.path, 'master', 'master.sqlite');
    writeFileSync(masterFile, pattern(64 * 1024, 3));
    const r = await runCli([
      'master',
      '--content',
      fleet.content,
      '--data',
      join(fleet.dir.path, 'master'),
      '--port',
      '0',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `outpost: the store ${masterFile} is damaged (file is not a database): 'outpost verify --data ${join(fleet.dir.path, 'master')}' says more. To start anew from --content, move ${masterFile} (and ${masterFile}-wal) aside and start again: the versions it kept are lost, and replicas follow the new ones`,
    ]);
    expect(existsSync(`${masterFile}.damaged`)).toBe(false);
  });

  it.each([
    ['push', false],
    ['pull', true],
  ])(
    'deep in the pages, met while running (%s link): answers 503, never ends the process, the master shows it, a restart renews the store',
    async (_link, pullOnly) => {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 40; i++) files[`f${i}.bin`] = pattern(100_000, 100 + i);
      const { f, file, pageSize } = await storeAtRest(files);
      // Page heads overwritten, as a failing disk leaves them, among the chunks' pages (the tree,
      // written last, lies past them: the start's own reads find nothing wrong).
      const bytes = readFileSync(file);
      for (let page = 20; page <= 180; page += 40) bytes.fill(0xff, page * pageSize, page * pageSize + 16);
      writeFileSync(file, bytes);

      // Pull only: the master hears of the damage with the replica's pulls, as heartbeats tell it.
      const proxy = pullOnly ? await startNoWebSocketProxy(f.master.url) : undefined;
      closeProxy = proxy?.close;
      await f.startReplica('uk-london', 'uk', {
        args: ['--scrub-bytes-per-second', '0', '--poll-ms', '300'],
        env: { OUTPOST_HEARTBEAT_MS: '500' },
        ...(proxy ? { master: proxy.url } : {}),
      });
      const url = f.replica('uk-london').url;
      let refused = 0;
      for (const [path, want] of Object.entries(files)) {
        const r = await body(`${url}/${path}`);
        if (r.bytes) expect(sha(r.bytes), `${path}: only genuine bytes`).toBe(sha(want));
        else refused++;
      }
      expect(refused).toBeGreaterThan(0);
      expect((await body(`${url}/_outpost/healthz`)).status).toBe(200);
      const says = /^the store is damaged \(.+, found by a read\): .*restart the replica to move it aside/;
      expect((await f.replicaStatus('uk-london')).error).toMatch(says);
      // Told to the master with the heartbeats (or the pulls): status shows it.
      await waitFor(async () => (await f.masterStatus()).replicas[0]?.state === 'error', {
        what: 'the master to show the damaged replica in error',
      });
      expect((await f.masterStatus()).replicas[0]).toMatchObject({
        link: pullOnly ? 'pull' : 'push',
        error: expect.stringMatching(says),
      });
      expect(existsSync(`${file}.damage-found`)).toBe(true);

      // A restart moves it aside and syncs a new store: every file served again.
      await f.replica('uk-london').stop();
      await f.startReplica('uk-london', 'uk', { env: { OUTPOST_HEARTBEAT_MS: '500' } });
      await f.expectConverged();
      expect(existsSync(`${file}.damaged`)).toBe(true);
      expect(existsSync(`${file}.damage-found`)).toBe(false);
      await waitFor(async () => (await f.masterStatus()).replicas[0]?.state === 'in-sync', {
        what: 'the master to show the renewed replica in sync',
      });
    },
  );

  it.each([
    // The new contents' rows go in at the end: a leaf in the middle is met as the version is stored…
    ['as a version is stored', 'middle'],
    // …and the first, holding rows of the first version's files only, by their collection.
    ['by the collection of old versions', 'first'],
  ])('deep in the contents table, met %s: said, and a restart renews the store', async (_when, which) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 400; i++)
      files[`d${i % 8}/f${i}.txt`] = `file ${i} of the first version\n`.repeat(20);
    const { f, file, pageSize } = await storeAtRest(files);
    const db = new BetterSqlite3(file, { readonly: true });
    const leaves = db
      .prepare("SELECT pageno FROM dbstat WHERE name = 'contents' AND pagetype = 'leaf' ORDER BY pageno")
      .pluck()
      .all() as number[];
    db.close();
    expect(leaves.length).toBeGreaterThan(1);
    // One leaf of the contents table overwritten, as a failing disk leaves it: no start reads it.
    const bytes = readFileSync(file);
    const page = leaves[which === 'first' ? 0 : Math.floor(leaves.length / 2)]!;
    bytes.fill(0xa5, (page - 1) * pageSize, page * pageSize);
    writeFileSync(file, bytes);
    await f.startReplica('uk-london', 'uk', {
      args: ['--scrub-bytes-per-second', '0'],
      env: { OUTPOST_HEARTBEAT_MS: '500' },
    });
    // Two new versions: a replica keeps the one before its current, so the collection of the
    // first reads the contents table once the third is in.
    for (let i = 0; i < 400; i += 4) f.write(`d${i % 8}/f${i}.txt`, `file ${i} edited\n`);
    await waitFor(async () => (await f.masterStatus()).version >= 2, { what: 'version 2' });
    for (let i = 0; i < 400; i += 4) f.write(`d${i % 8}/f${i}.txt`, `file ${i} edited again\n`);
    const says = /^the store is damaged \(.+\): .*restart the replica to move it aside/;
    await waitFor(async () => says.test((await f.replicaStatus('uk-london')).error ?? ''), {
      what: 'the replica to say its store is damaged',
    });
    await waitFor(async () => (await f.masterStatus()).replicas[0]?.state === 'error', {
      what: 'the master to show the damaged replica in error',
    });
    expect(existsSync(`${file}.damage-found`)).toBe(true);

    // A restart moves it aside and syncs a new store.
    await f.replica('uk-london').stop();
    await f.startReplica('uk-london', 'uk', { env: { OUTPOST_HEARTBEAT_MS: '500' } });
    await f.expectConverged();
    expect(existsSync(`${file}.damaged`)).toBe(true);
  });

  it('is found and repaired by the background scrub with no reader asking', async () => {
    fleet = await Fleet.start({
      files: { 'small.bin': small, 'big.bin': big },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    await fleet.expectConverged();
    const dataDir = join(fleet.dir.path, 'replica-uk-london');
    await fleet.replica('uk-london').stop();
    corruptOnDisk(join(dataDir, 'replica.sqlite'), big.subarray(700_000, 700_064));
    expect((await runCli(['verify', '--data', dataDir])).code).toBe(1);

    const r = await fleet.startReplica('uk-london', 'uk', {
      args: ['--scrub-bytes-per-second', '104857600'],
    });
    await waitFor(() => r.logs.some((l) => l.msg === 'damaged chunk repaired'), {
      what: 'the scrub to repair it',
    });
    expect(r.logs.find((l) => l.msg === 'damaged chunk found; fetching it again')).toMatchObject({
      where: 'scrub',
    });
    expect((await runCli(['verify', '--data', dataDir])).code).toBe(0);
    const got = await body(`${r.url}/big.bin`);
    expect(sha(got.bytes!)).toBe(sha(big));
  });
});

describe("damage at rest in the master's store", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('a chunk a replica got damaged is mended from its file; one no file still holds is shown in status until the file is read again', async () => {
    const a = pattern(3000, 21);
    const b = pattern(3000, 22);
    fleet = await Fleet.start({ files: { 'a.bin': a, 'b.bin': b } });
    await fleet.masterCaughtUp();
    // Old enough that a restart's reconcile trusts the index for them (no racy entries).
    const old = new Date(Date.now() - 3_600_000);
    const age = () => {
      for (const f of ['a.bin', 'b.bin']) utimesSync(join(fleet!.content, f), old, old);
    };
    await fleet.master.stop();
    age();
    await fleet.startMaster();
    await fleet.masterCaughtUp();
    await fleet.master.stop();
    const dbFile = join(fleet.dir.path, 'master', 'master.sqlite');
    corruptOnDisk(dbFile, a.subarray(1000, 1064));
    corruptOnDisk(dbFile, b.subarray(1000, 1064));
    // b.bin on disk no longer holds what was published, its size, time and inode unchanged:
    // the master has no cause to read it again, and nothing on disk holds b's old bytes.
    const newB = pattern(3000, 23);
    writeFileSync(join(fleet.content, 'b.bin'), newB);
    age();
    await fleet.startMaster();
    const restarted = fleet;
    await waitFor(async () => (await restarted.masterStatus()).ready, { what: 'the master to reconcile' });
    // Trusted as indexed: nothing read again, no new version.
    expect((await fleet.masterStatus()).version).toBe(1);

    await fleet.startReplica('uk-london', 'uk');
    const master = fleet.master;
    await waitFor(
      () =>
        master.logs.find((l) => l.msg === 'mended a damaged chunk of the store from the content directory'),
      {
        what: "the master to mend a.bin's chunk",
      },
    );
    expect(
      master.logs.find((l) => l.msg === 'mended a damaged chunk of the store from the content directory'),
    ).toMatchObject({
      chunk: sha(a),
      path: 'a.bin',
    });
    const f = fleet;
    const warned = await waitFor(
      async () => {
        const s = await f.masterStatus();
        return s.warnings.find((w: string) => w.includes(sha(b))) ?? null;
      },
      { what: "status to warn of b.bin's chunk" },
    );
    expect(warned).toMatch(
      /^a chunk of the master's store found damaged, which replicas cannot have: chunk [0-9a-f]{64} is damaged in the master's store, and no file of the content directory still holds its bytes\. Run `outpost verify`/,
    );
    // The replica, refusing the version for it, says why.
    await waitFor(
      async () => /master answered 500 for chunk/.test((await f.replicaStatus('uk-london')).error ?? ''),
      {
        what: 'the replica to say why it refused version 1',
      },
    );
    expect((await f.replicaStatus('uk-london')).error).toContain(`master answered 500 for chunk ${sha(b)}`);

    // Read again (a new mtime), b.bin is published as it is now: every replica converges.
    utimesSync(join(fleet.content, 'b.bin'), new Date(), new Date());
    await fleet.expectConverged();
    const url = fleet.replica('uk-london').url;
    expect(sha((await body(`${url}/a.bin`)).bytes!)).toBe(sha(a));
    expect(sha((await body(`${url}/b.bin`)).bytes!)).toBe(sha(newB));
    // Version 1 is kept and still names b's old chunk: a rollback to it would be refused.
    expect((await fleet.masterStatus()).warnings).toEqual([
      expect.stringContaining(`found damaged that only older kept versions need (chunk ${sha(b)})`),
    ]);
  });
});

describe("a chunk row lost from the master's store", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('is read again from its file when a batch asks for it: the replica never hears it is missing', async () => {
    const d = pattern(5000, 41);
    fleet = await Fleet.start({ files: { 'd.bin': d }, masterArgs: ['--scrub-bytes-per-second', '0'] });
    await fleet.masterCaughtUp();
    // Old enough that a restart trusts the index for it: it is not read again (which would
    // store its chunk again) but for a replica's sake.
    await fleet.master.stop();
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(fleet.content, 'd.bin'), old, old);
    await fleet.startMaster();
    await fleet.masterCaughtUp();
    await fleet.master.stop();
    const db = new BetterSqlite3(join(fleet.dir.path, 'master', 'master.sqlite'));
    expect(db.prepare('DELETE FROM chunks WHERE hash = ?').run(sha(d)).changes).toBe(1);
    db.close();

    await fleet.startMaster();
    await fleet.startReplica('uk-london', 'uk');
    await fleet.expectConverged();
    expect(sha((await body(`${fleet.replica('uk-london').url}/d.bin`)).bytes!)).toBe(sha(d));
    const master = fleet.master;
    const mended = await waitFor(
      () =>
        master.logs.find((l) => l.msg === 'mended a damaged chunk of the store from the content directory'),
      { what: 'the log line of the mend' },
    );
    expect(mended).toMatchObject({ chunk: sha(d), path: 'd.bin' });
  });
});

describe("the master's background scrub", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('finds a damaged chunk with no replica asking, and mends it from its file', async () => {
    const c = pattern(200_000, 31);
    fleet = await Fleet.start({ files: { 'c.bin': c } });
    await fleet.masterCaughtUp();
    await fleet.master.stop();
    const data = join(fleet.dir.path, 'master');
    corruptOnDisk(join(data, 'master.sqlite'), c.subarray(50_000, 50_064));
    const damaged = await runCli(['verify', '--data', data]);
    expect(damaged.code).toBe(1);

    await fleet.startMaster();
    const master = fleet.master;
    const mended = await waitFor(
      () =>
        master.logs.find((l) => l.msg === 'mended a damaged chunk of the store from the content directory'),
      { what: 'the scrub to mend the chunk' },
    );
    expect(mended).toMatchObject({ path: 'c.bin' });
    const clean = await runCli(['verify', '--data', data]);
    expect(clean.code, clean.stdout).toBe(0);
    expect((await fleet.masterStatus()).warnings).toEqual([]);
  });
});
