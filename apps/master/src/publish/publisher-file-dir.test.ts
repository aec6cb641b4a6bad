import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LiveTree, type Tree } from '@outpost/core';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';
import { readFileIntoStore } from './read-file.js';

const fx = publisherFixture('outpost-file-dir-', { retryMs: 1 });

const live = () => [...fx.store.versions.liveTree().keys()].sort();

/** Fails when a version holds a path that is a file and, with files under it, a folder. */
function expectNoFileIsAFolder(tree: Tree) {
  for (const path of tree.keys())
    for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1))
      expect(tree.has(path.slice(0, slash)), `${path.slice(0, slash)} is a file and a folder`).toBe(false);
}

function expectEveryVersionSound(versions: number[]) {
  for (const v of versions) expectNoFileIsAFolder(fx.store.versions.treeAt(v)!);
}

describe('a path that changes from file to folder, or back', () => {
  it.each([
    ['the folder', ['ss']],
    ['the folder and its file', ['ss', 'ss/in']],
  ])(
    'a file replaced by a folder of its name in one burst leaves the tree (the watcher names %s)',
    async (_, batch) => {
      writeFileSync(join(fx.content, 'ss'), 'f\n');
      const { p, published } = fx.publisher();
      await p.reconcile();
      expect(live()).toEqual(['ss']);
      rmSync(join(fx.content, 'ss'));
      mkdirSync(join(fx.content, 'ss'));
      writeFileSync(join(fx.content, 'ss', 'in'), 'in\n');
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
      mkdirSync(join(fx.content, 'd', 'sub'), { recursive: true });
      writeFileSync(join(fx.content, 'd', 'x'), 'x\n');
      writeFileSync(join(fx.content, 'd', 'sub', 'y'), 'y\n');
      const { p, published } = fx.publisher();
      await p.reconcile();
      rmSync(join(fx.content, 'd'), { recursive: true });
      writeFileSync(join(fx.content, 'd'), 'now a file\n');
      await p.submit(batch);
      expect(live()).toEqual(['d']);
      expectEveryVersionSound(published);
      await p.close();
    },
  );

  it('a rewalk finds either change when no event told it', async () => {
    writeFileSync(join(fx.content, 'ss'), 'f\n');
    mkdirSync(join(fx.content, 'd'));
    writeFileSync(join(fx.content, 'd', 'x'), 'x\n');
    const { p, published } = fx.publisher();
    await p.reconcile();
    rmSync(join(fx.content, 'ss'));
    mkdirSync(join(fx.content, 'ss'));
    writeFileSync(join(fx.content, 'ss', 'in'), 'in\n');
    rmSync(join(fx.content, 'd'), { recursive: true });
    writeFileSync(join(fx.content, 'd'), 'd\n');
    await p.rewalk();
    expect(live()).toEqual(['d', 'ss/in']);
    expectEveryVersionSound(published);
    await p.close();
  });

  it("a restart's reconcile mends a store whose version holds a file and a folder of one name", async () => {
    writeFileSync(join(fx.content, 'ss'), 'f\n');
    const first = fx.publisher();
    await first.p.reconcile();
    await first.p.close();
    // What a master before the fix published: the folder's file beside the file it replaced.
    rmSync(join(fx.content, 'ss'));
    mkdirSync(join(fx.content, 'ss'));
    writeFileSync(join(fx.content, 'ss', 'in'), 'in\n');
    const read = await readFileIntoStore(join(fx.content, 'ss', 'in'), 'ss/in', fx.store.chunks);
    if (read.kind !== 'file') throw new Error(`read gave ${read.kind}`);
    const plan = new LiveTree(fx.store.versions.liveTree().values()).plan([{ op: 'put', entry: read.entry }]);
    fx.store.versions.commit({ version: 2, createdAt: Date.now(), changes: plan.effective, ...plan });
    expect(live()).toEqual(['ss', 'ss/in']);

    const { p, published } = fx.publisher();
    await p.reconcile();
    expect(live()).toEqual(['ss/in']);
    expect(published).toEqual([3]);
    await p.close();
  });

  it('holds back a file that would sit under a file the tree keeps, and looks again at that path', async () => {
    writeFileSync(join(fx.content, 'ss'), 'f\n');
    const { p, published } = fx.publisher();
    await p.reconcile();
    rmSync(join(fx.content, 'ss'));
    mkdirSync(join(fx.content, 'ss'));
    writeFileSync(join(fx.content, 'ss', 'in'), 'in\n');
    // Only the file is named (the folder's own event lost): the version would have held both.
    await p.submit(['ss/in']);
    expectEveryVersionSound(published);
    // The look at `ss` that follows settles it.
    await vi.waitFor(() => expect(live()).toEqual(['ss/in']), { timeout: 5000, interval: 5 });
    expectEveryVersionSound(published);
    await p.close();
  });
});
