import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChunkHealer } from './chunk-healer.js';
import { Publisher } from './publisher.js';

let dir: string;
let content: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-healer-'));
  content = join(dir, 'content');
  mkdirSync(content);
  store = openStore(join(dir, 'master.sqlite'));
});

afterEach(() => {
  vi.restoreAllMocks();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Publishes the files as version 1; returns the healer over that store and directory. */
async function published(files: Record<string, string>): Promise<ChunkHealer> {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(content, path), text);
  const log = pino({ level: 'silent' });
  const p = new Publisher({ contentDir: content, store, log, onPublished: () => undefined });
  await p.reconcile();
  await p.close();
  return new ChunkHealer({ store, contentDir: content, log });
}

const damage = (hash: string) =>
  store.db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(Buffer.from('not these bytes'), hash);

describe('ChunkHealer', () => {
  it('gives a sound chunk as stored, and says so of one it does not hold', async () => {
    const healer = await published({ 'a.txt': 'alpha\n' });
    const got = await healer.check(sha256Hex('alpha\n'));
    expect(got).toEqual({ kind: 'ok', data: Buffer.from('alpha\n') });
    expect(await healer.check(sha256Hex('nowhere'))).toEqual({ kind: 'absent' });
    expect(healer.warnings()).toEqual([]);
  });

  it('writes a damaged chunk anew from the file that holds it, and serves that', async () => {
    const healer = await published({ 'a.txt': 'alpha\n' });
    const hash = sha256Hex('alpha\n');
    damage(hash);
    expect(await healer.check(hash)).toEqual({ kind: 'ok', data: Buffer.from('alpha\n') });
    expect(store.chunks.get(hash)!.toString()).toBe('alpha\n');
    expect(healer.mended).toBe(1);
  });

  it('does not wait on a named pipe put in place of the file that held a damaged chunk', async () => {
    const healer = await published({ 'a.txt': 'alpha\n' });
    const hash = sha256Hex('alpha\n');
    damage(hash);
    const file = join(content, 'a.txt');
    rmSync(file);
    execFileSync('mkfifo', [file]);
    // A writer that comes 10 s later: the only thing that would end a blocking open of the pipe.
    const writer = spawn('sh', ['-c', 'sleep 10; exec 3>"$0"', file], { stdio: 'ignore' });
    try {
      const started = Date.now();
      expect(await healer.check(hash)).toMatchObject({ kind: 'damaged' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      writer.kill();
    }
  });

  it('names a damaged chunk no file still holds, as one only kept versions need once the file changed, until collected', async () => {
    const healer = await published({ 'a.txt': 'alpha\n' });
    const hash = sha256Hex('alpha\n');
    damage(hash);
    // Changed on disk, the publisher not told: nothing holds the old bytes.
    writeFileSync(join(content, 'a.txt'), 'ALPHA\n');
    const got = await healer.check(hash);
    expect(got.kind).toBe('damaged');
    expect(healer.warnings()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^a chunk of the master's store found damaged, which replicas cannot have: chunk ${hash} is damaged`,
        ),
      ),
    ]);
    const p = new Publisher({
      contentDir: content,
      store,
      log: pino({ level: 'silent' }),
      onPublished: () => undefined,
    });
    await p.submit(['a.txt']);
    await p.close();
    // Version 1, kept, still needs it: a rollback to it would be refused, and status says so.
    expect(healer.warnings()).toEqual([
      expect.stringContaining(
        `a chunk of the master's store found damaged that only older kept versions need (chunk ${hash})`,
      ),
    ]);
    // Collected with the versions that needed it: no one's concern.
    store.chunks.delete(hash);
    expect(healer.warnings()).toEqual([]);
  });

  it('serves good bytes from the file when the store cannot take them back, and warns of the store', async () => {
    const healer = await published({ 'a.txt': 'alpha\n' });
    const hash = sha256Hex('alpha\n');
    damage(hash);
    vi.spyOn(store.chunks, 'replace').mockImplementation(() => {
      throw Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    });
    expect(await healer.check(hash)).toEqual({ kind: 'ok', data: Buffer.from('alpha\n') });
    expect(healer.warnings()).toEqual([
      expect.stringMatching(
        /^the master's store is damaged \(database disk image is malformed, found by a mend\)/,
      ),
    ]);
  });
});
