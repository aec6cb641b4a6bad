import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFastCdcChunker } from '@outpost/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryMtime, readFileIntoStore } from './read-file.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Deterministic incompressible bytes. */
function noise(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-read-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readFileIntoStore', () => {
  // Around the sizes read with blocking calls and read in one call, and an exact multiple of a read.
  it.each([
    0,
    100,
    64 * 1024,
    64 * 1024 + 1,
    300 * 1024,
    1024 * 1024,
    1024 * 1024 + 1,
    3 * 1024 * 1024,
    5 * 1024 * 1024 + 12_345,
  ])('stores the chunks the streaming chunker cuts, each under its hash, for %i bytes', async (size) => {
    const data = noise(size, size + 1);
    writeFileSync(join(dir, 'f.bin'), data);
    const put = new Map<string, Buffer>();
    const r = await readFileIntoStore(join(dir, 'f.bin'), 'f.bin', {
      put: (hash, chunk) => put.set(hash, Buffer.from(chunk)),
    });
    if (r.kind !== 'file') throw new Error(`read gave ${r.kind}`);
    const chunker = createFastCdcChunker();
    const expected = [...chunker.push(data), ...chunker.finish()];
    expect(r.entry.chunks).toEqual(expected.map((c) => ({ hash: sha(c), size: c.length })));
    expect(r.entry).toMatchObject({ path: 'f.bin', size, hash: sha(data) });
    for (const c of r.entry.chunks) expect(sha(put.get(c.hash)!)).toBe(c.hash);
  });

  it('publishes a file dated before 1970 at mtime 0, and tells its real mtime for the index', async () => {
    const old = new Date('1960-01-01T00:00:00Z');
    writeFileSync(join(dir, 'old.txt'), 'from 1960\n');
    utimesSync(join(dir, 'old.txt'), old, old);
    const r = await readFileIntoStore(join(dir, 'old.txt'), 'old.txt', { put: () => undefined });
    if (r.kind !== 'file') throw new Error(`read gave ${r.kind}`);
    // A negative mtime fails every replica's schema (EpochMs: an integer ≥ 0).
    expect(r.entry.mtime).toBe(0);
    expect(r.mtimeMs).toBe(old.getTime());
    expect(entryMtime(1234.9)).toBe(1234);
  });

  it("waits out the settle time of an empty file whose mode changed before its first write (sed -i's temp file)", async () => {
    // `sed -i` creates its temp file, fchowns it (ctime moves past mtime), then writes and
    // renames it over the original. Caught before the write, it looked like a file renamed
    // into place (ctime after mtime) and was published empty, as a version of its own.
    const temp = join(dir, 'sedG8nxrJ');
    closeSync(openSync(temp, 'wx', 0o600));
    await new Promise((r) => setTimeout(r, 5));
    chmodSync(temp, 0o644);
    const r = await readFileIntoStore(temp, 'sedG8nxrJ', { put: () => undefined }, 60_000);
    expect(r).toMatchObject({ kind: 'unstable', reason: 'modified moments ago' });
    // A file that is done and renamed into place goes at once, even an empty one written
    // before it was moved.
    writeFileSync(join(dir, 'done.tmp'), 'done\n');
    await new Promise((r) => setTimeout(r, 5));
    renameSync(join(dir, 'done.tmp'), join(dir, 'done.txt'));
    const done = await readFileIntoStore(join(dir, 'done.txt'), 'done.txt', { put: () => undefined }, 60_000);
    expect(done.kind).toBe('file');
  });

  it("waits 5 s, not --settle-ms, before it reads a file named like a writer's temp file", async () => {
    // rsync fills `.NAME.XXXXXX` and renames it over NAME; a pause in the transfer longer
    // than --settle-ms had the half-filled temp file published under its own name. (Written
    // just now, with no settle time asked for: a file of any other name is read at once.)
    const read = (name: string) => readFileIntoStore(join(dir, name), name, { put: () => undefined }, 0);
    const names = ['.index.html.a1B2c3', 'sedG8nxrJ', 'tmpk3_9xq2z', 'index.html'];
    for (const name of names) writeFileSync(join(dir, name), 'half of it');
    for (const name of names.slice(0, 3)) {
      const r = await read(name);
      expect(r, name).toMatchObject({ kind: 'unstable', reason: 'modified moments ago' });
      expect((r as { retryInMs: number }).retryInMs, name).toBeGreaterThan(4000);
      expect((r as { retryInMs: number }).retryInMs, name).toBeLessThanOrEqual(5001);
    }
    expect((await read('index.html')).kind).toBe('file');
  });

  it('reports a symlink, small or large, as gone: never followed', async () => {
    writeFileSync(join(dir, 'small.txt'), 'small');
    writeFileSync(join(dir, 'large.bin'), noise(2 * 1024 * 1024, 3));
    symlinkSync(join(dir, 'small.txt'), join(dir, 'a'));
    symlinkSync(join(dir, 'large.bin'), join(dir, 'b'));
    for (const link of ['a', 'b'])
      expect(await readFileIntoStore(join(dir, link), link, { put: () => undefined })).toEqual({
        kind: 'gone',
      });
    expect(await readFileIntoStore(join(dir, 'nothing'), 'nothing', { put: () => undefined })).toEqual({
      kind: 'gone',
    });
  });

  it('never waits on a file swapped for a named pipe between its lstat and its open, small or large', async () => {
    for (const size of [100, 2 * 1024 * 1024]) {
      const abs = join(dir, `swapped-${size}`);
      writeFileSync(abs, noise(size, 5));
      utimesSync(abs, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const stale = lstatSync(abs);
      rmSync(abs);
      execFileSync('mkfifo', [abs]);
      // A writer that comes 10 s later: the only thing that would end a blocking open of the
      // pipe (and, in the blocking read of a small file, the test's own thread).
      const writer = spawn('sh', ['-c', 'sleep 10; exec 3>"$0"', abs], { stdio: 'ignore' });
      try {
        const started = Date.now();
        const r = await readFileIntoStore(abs, `swapped-${size}`, { put: () => undefined }, 0, stale);
        expect(r, `${size} bytes`).toEqual({ kind: 'unstable', reason: 'replaced while opening' });
        expect(Date.now() - started, `${size} bytes`).toBeLessThan(5000);
      } finally {
        writer.kill();
      }
    }
  });
});
