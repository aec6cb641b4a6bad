import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveTree, type Tree } from '@outpost/core';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Publisher } from './publisher.js';
import { readFileIntoStore } from './read-file.js';

let dir: string;
let content: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-file-dir-'));
  content = join(dir, 'content');
  mkdirSync(content);
  store = openStore(join(dir, 'master.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function publisherOver() {
  const published: number[] = [];
  const p = new Publisher({
    contentDir: content,
    store,
    log: pino({ level: 'silent' }),
    onPublished: (v) => published.push(v.version),
    retryMs: 1,
  });
  return { p, published };
}

const live = () => [...store.versions.liveTree().keys()].sort();

/** Fails when a version holds a path that is a file and, with files under it, a folder. */
function expectNoFileIsAFolder(tree: Tree) {
  for (const path of tree.keys())
    for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1))
      expect(tree.has(path.slice(0, slash)), `${path.slice(0, slash)} is a file and a folder`).toBe(false);
}

function expectEveryVersionSound(versions: number[]) {
  for (const v of versions) expectNoFileIsAFolder(store.versions.treeAt(v)!);
}

describe('a path that changes from file to folder, or back', () => {
  it.each([
    ['the folder', ['ss']],
    ['the folder and its file', ['ss', 'ss/in']],
  ])(
    'a file replaced by a folder of its name in one burst leaves the tree (the watcher names %s)',
    async (_, batch) => {
      writeFileSync(join(content, 'ss'), 'f\n');
      const { p, published } = publisherOver();
      await p.reconcile();
      expect(live()).toEqual(['ss']);
      rmSync(join(content, 'ss'));
      mkdirSync(join(content, 'ss'));
      writeFileSync(join(content, 'ss', 'in'), 'in\n');
      await p.submit(batch);
      expect(live()).toEqual(['ss/in']);
      expect(published).toEqual([1, 2]);
      expectEveryVersionSound(published);
      await p.close();
    },
  );

  it.each([
    ['the file', ['d']],
    ['the file and the old folder', ['d', 'd/x', 'd/sub/y']],
  ])(
    'a folder replaced by a file of its name in one burst leaves the tree (the watcher names %s)',
    async (_, batch) => {
      mkdirSync(join(content, 'd', 'sub'), { recursive: true });
      writeFileSync(join(content, 'd', 'x'), 'x\n');
      writeFileSync(join(content, 'd', 'sub', 'y'), 'y\n');
      const { p, published } = publisherOver();
      await p.reconcile();
      rmSync(join(content, 'd'), { recursive: true });
      writeFileSync(join(content, 'd'), 'now a file\n');
      await p.submit(batch);
      expect(live()).toEqual(['d']);
      expectEveryVersionSound(published);
      await p.close();
    },
  );

  it('a rewalk finds either change when no event told it', async () => {
    writeFileSync(join(content, 'ss'), 'f\n');
    mkdirSync(join(content, 'd'));
    writeFileSync(join(content, 'd', 'x'), 'x\n');
    const { p, published } = publisherOver();
    await p.reconcile();
    rmSync(join(content, 'ss'));
    mkdirSync(join(content, 'ss'));
    writeFileSync(join(content, 'ss', 'in'), 'in\n');
    rmSync(join(content, 'd'), { recursive: true });
    writeFileSync(join(content, 'd'), 'd\n');
    await p.rewalk();
    expect(live()).toEqual(['d', 'ss/in']);
    expectEveryVersionSound(published);
    await p.close();
  });

  it("a restart's reconcile mends a store whose version holds a file and a folder of one name", async () => {
    writeFileSync(join(content, 'ss'), 'f\n');
    const first = publisherOver();
    await first.p.reconcile();
    await first.p.close();
    // What a master before the fix published: the folder's file beside the file it replaced.
    rmSync(join(content, 'ss'));
    mkdirSync(join(content, 'ss'));
    writeFileSync(join(content, 'ss', 'in'), 'in\n');
    const read = await readFileIntoStore(join(content, 'ss', 'in'), 'ss/in', store.chunks);
    if (read.kind !== 'file') throw new Error(`read gave ${read.kind}`);
    const plan = new LiveTree(store.versions.liveTree().values()).plan([{ op: 'put', entry: read.entry }]);
    store.versions.commit({ version: 2, createdAt: Date.now(), changes: plan.effective, ...plan });
    expect(live()).toEqual(['ss', 'ss/in']);

    const { p, published } = publisherOver();
    await p.reconcile();
    expect(live()).toEqual(['ss/in']);
    expect(published).toEqual([3]);
    await p.close();
  });

  it('holds back a file that would sit under a file the tree keeps, and looks again at that path', async () => {
    writeFileSync(join(content, 'ss'), 'f\n');
    const { p, published } = publisherOver();
    await p.reconcile();
    rmSync(join(content, 'ss'));
    mkdirSync(join(content, 'ss'));
    writeFileSync(join(content, 'ss', 'in'), 'in\n');
    // Only the file is named (the folder's own event lost): the version would have held both.
    await p.submit(['ss/in']);
    expectEveryVersionSound(published);
    // The look at `ss` that follows settles it.
    await vi.waitFor(() => expect(live()).toEqual(['ss/in']), { timeout: 5000, interval: 5 });
    expectEveryVersionSound(published);
    await p.close();
  });
});
