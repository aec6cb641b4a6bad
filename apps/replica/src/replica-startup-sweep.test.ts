import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merkleRoot, sha256Hex } from '@outpost/core';
import { openStore } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReplica, type Replica } from './replica.js';

let dir: string;
let replica: Replica | undefined;
let master: Server | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-replica-sweep-'));
});
afterEach(async () => {
  await replica?.stop();
  replica = undefined;
  master?.close();
  master?.closeAllConnections();
  master = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A master that holds version 1 with `root`, reached by pull only (no WebSocket): a replica
 * that holds it is told it is in sync, which lets its start's sweep go.
 */
async function masterAt(root: string, up: () => boolean = () => true): Promise<string> {
  const body = JSON.stringify({ version: 1, root, from: 1, full: false, changes: [] });
  const server = createServer((req, res) => {
    // Down: the connection drops before any answer, as a host whose service is not up.
    if (!up()) {
      req.socket.destroy();
      return;
    }
    if (!req.url?.startsWith('/_outpost/api/v1/manifest')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  master = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Seeds a store holding version 1 (one file) and a chunk no content names, with no clean-stop mark. */
function seed(data: string, body: Buffer, litter: Buffer): string {
  const store = openStore(join(data, 'replica.sqlite'));
  const hash = sha256Hex(body);
  const entry = {
    path: 'index.html',
    size: body.length,
    hash,
    mtime: 1_700_000_000_000,
    chunks: [{ hash, size: body.length }],
  };
  store.chunks.put(hash, body);
  store.versions.commit({
    version: 1,
    root: merkleRoot([entry]),
    createdAt: Date.now(),
    files: 1,
    bytes: body.length,
    changes: [{ op: 'put', entry }],
  });
  // What a fetch cut short by a full disk leaves: a chunk no version names.
  store.chunks.put(sha256Hex(litter), litter);
  store.close();
  return merkleRoot([entry]);
}

/**
 * A full disk, as SQLite meets it while `full()`: a DELETE of what the sweep collects needs
 * room in the WAL, and gets SQLITE_FULL.
 */
function diskFull(r: Replica, full: () => boolean) {
  const db = r.store.db;
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const stmt = prepare(sql);
    if (!/^DELETE FROM (chunks|contents|content_chunks|encodings)\b/.test(sql)) return stmt;
    return new Proxy(stmt, {
      get(target, key, receiver) {
        if (key === 'run' && full())
          return () => {
            throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }) as typeof db.prepare;
}

describe('the startup sweep after a stop that was not clean', () => {
  it("keeps what no version names until the replica holds the master's version, then sweeps it", async () => {
    const data = join(dir, 'data');
    const body = Buffer.from('<h1>held</h1>');
    const litter = Buffer.from('a chunk of a download cut short');
    const root = seed(data, body, litter);
    let up = false;
    const master = await masterAt(root, () => up);
    replica = buildReplica({
      name: 'uk-london',
      region: 'uk',
      master,
      data,
      host: '127.0.0.1',
      port: 0,
      pollMs: 100,
      logLevel: 'silent',
    });
    await replica.start();
    const r = replica;
    // The master is not there yet: the replica has tried it, and keeps the chunk.
    await expect.poll(() => r.engine.link, { timeout: 5_000 }).toBe('offline');
    await r.engine.exclusive(async () => {});
    expect(r.store.chunks.has(sha256Hex(litter))).toBe(true);

    // The master comes up at the version held: now it is litter.
    up = true;
    await expect.poll(() => r.store.chunks.has(sha256Hex(litter)), { timeout: 10_000 }).toBe(false);
    expect(r.store.chunks.has(sha256Hex(body))).toBe(true);
  });
});

describe('the startup sweep on a full disk', () => {
  it('starts, serves the version held, shows the disk error in status, and sweeps once the disk has room', async () => {
    const data = join(dir, 'data');
    const body = Buffer.from('<h1>held</h1>');
    const litter = Buffer.from('left by a fetch the disk refused');
    const root = seed(data, body, litter);
    replica = buildReplica({
      name: 'uk-london',
      region: 'uk',
      master: await masterAt(root),
      data,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
    });
    let full = true;
    diskFull(replica, () => full);
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const url = await replica.start();
      const r = replica;
      await expect
        .poll(() => r.engine.problem, { timeout: 5_000 })
        .toMatch(/sweep.*database or disk is full/);
      // It serves what it holds.
      const res = await fetch(new URL('/index.html', url));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(body.toString());
      expect(res.headers.get('x-outpost-version')).toBe('1');
      expect(r.store.chunks.has(sha256Hex(litter))).toBe(true);

      // Room again: the sweep is tried again, goes through, and the error goes from status.
      full = false;
      await expect.poll(() => r.store.chunks.has(sha256Hex(litter)), { timeout: 10_000 }).toBe(false);
      await expect.poll(() => r.engine.problem === null || !/sweep/.test(r.engine.problem)).toBe(true);
      expect(r.store.chunks.has(sha256Hex(body))).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('does not mark the stop clean while the sweep is still to be done', async () => {
    const data = join(dir, 'data');
    const root = seed(data, Buffer.from('held'), Buffer.from('litter'));
    replica = buildReplica({
      name: 'uk-london',
      region: 'uk',
      master: await masterAt(root),
      data,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
    });
    diskFull(replica, () => true);
    await replica.start();
    const r = replica;
    await expect.poll(() => r.engine.problem, { timeout: 5_000 }).toMatch(/disk is full/);
    await r.stop();
    replica = undefined;
    const store = openStore(join(data, 'replica.sqlite'));
    try {
      const mark = store.db.prepare("SELECT value FROM meta WHERE key = 'clean_shutdown'").get();
      expect(mark).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
