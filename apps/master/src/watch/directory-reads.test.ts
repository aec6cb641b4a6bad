import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DirectoryReads, readDirectoriesOnlyForDirectories } from './directory-reads.js';

async function until(cond: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let root: string;
let watcher: FSWatcher | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-dir-reads-'));
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** A watcher as watchTree makes it (directories only), with the filter; its raw events counted. */
async function start(): Promise<{ w: FSWatcher; reads: DirectoryReads; raw: () => number; dirs: string[] }> {
  const w = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false,
    ignored: (_abs: string, stats?: { isDirectory(): boolean }) =>
      stats !== undefined && !stats.isDirectory(),
  });
  watcher = w;
  const reads = readDirectoriesOnlyForDirectories(w);
  expect(reads, "chokidar's internals as this module knows them").not.toBeNull();
  let raw = 0;
  const dirs: string[] = [];
  w.on('raw', () => raw++);
  w.on('addDir', (abs: string) => dirs.push(abs));
  w.on('unlinkDir', (abs: string) => dirs.push(`-${abs}`));
  await new Promise<void>((r) => w.once('ready', () => r()));
  return { w, reads: reads!, raw: () => raw, dirs };
}

describe('readDirectoriesOnlyForDirectories', () => {
  it("reads no directory again for its files' events, and still for a subdirectory come or gone", async () => {
    for (let i = 0; i < 300; i++) writeFileSync(join(root, `f${i}.txt`), `file ${i}\n`);
    const { reads, raw, dirs } = await start();

    // A log appended, a file replaced by a rename, a file made and deleted: events, no read.
    for (let i = 0; i < 30; i++) {
      appendFileSync(join(root, 'f1.txt'), `line ${i}\n`);
      writeFileSync(join(root, '.tmp'), `content ${i}\n`);
      renameSync(join(root, '.tmp'), join(root, 'f2.txt'));
    }
    writeFileSync(join(root, 'new.txt'), 'new\n');
    rmSync(join(root, 'f3.txt'));
    await until(() => raw() >= 60 && reads.skipped > 0, 'the files’ events');
    await new Promise((r) => setTimeout(r, 100));
    expect(reads.read).toBe(0);

    // A subdirectory made, and one removed: read, and told.
    mkdirSync(join(root, 'sub'));
    await until(() => dirs.includes(join(root, 'sub')), 'addDir of sub');
    rmSync(join(root, 'sub'), { recursive: true });
    await until(() => dirs.includes(`-${join(root, 'sub')}`), 'unlinkDir of sub');
    expect(reads.read).toBeGreaterThan(0);
  });
});
