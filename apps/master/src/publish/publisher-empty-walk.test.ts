import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const fx = publisherFixture('outpost-publisher-empty-', { failedBatchRetryMs: 20 });

/** The content folder with two files, published as version 1. */
async function publishedTwoFiles() {
  writeFileSync(join(fx.content, 'a.txt'), 'a\n');
  mkdirSync(join(fx.content, 'docs'));
  writeFileSync(join(fx.content, 'docs', 'b.txt'), 'b\n');
  const made = await fx.reconciled();
  expect(made.published).toEqual([1]);
  return made;
}

describe('Publisher over a content directory found empty by a walk', () => {
  it('publishes nothing of another, empty directory in its place (an unmount), says so, and goes on once it holds files', async () => {
    const { p, published } = await publishedTwoFiles();
    // Unmounted: the mount point is left, another directory, empty.
    renameSync(fx.content, join(fx.dir, 'mounted'));
    mkdirSync(fx.content);
    await p.rewalk();
    expect(published).toEqual([1]);
    expect(p.current).toMatchObject({ version: 1, files: 2 });
    expect(p.failure?.message).toMatch(
      /content directory .* holds no file now, where version 1 has 2: nothing published/,
    );
    // Walked again and again while it stays empty: still nothing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published).toEqual([1]);
    expect(p.failure).not.toBeNull();

    // Mounted again: the next walk finds the files, and the tree is the same: nothing to publish.
    rmSync(fx.content, { recursive: true });
    renameSync(join(fx.dir, 'mounted'), fx.content);
    await vi.waitFor(() => expect(p.failure).toBeNull(), { timeout: 5_000, interval: 10 });
    expect(published).toEqual([1]);
    // And an edit publishes as ever.
    writeFileSync(join(fx.content, 'a.txt'), 'a, edited\n');
    await p.submit(['a.txt']);
    expect(published).toEqual([1, 2]);
    await p.close();
  });

  it('publishes nothing at a start over an empty directory, where the store has files', async () => {
    const first = await publishedTwoFiles();
    await first.p.close();
    rmSync(fx.content, { recursive: true });
    mkdirSync(fx.content);
    const { p, published: again } = await fx.reconciled();
    expect(again).toEqual([]);
    expect(p.current).toMatchObject({ version: 1, files: 2 });
    expect(p.failure?.message).toMatch(/holds no file now, where version 1 has 2/);
    // Content that comes back with a change is published.
    writeFileSync(join(fx.content, 'c.txt'), 'c\n');
    await vi.waitFor(() => expect(again).toEqual([2]), { timeout: 5_000, interval: 10 });
    expect(p.current).toMatchObject({ version: 2, files: 1 });
    expect(p.failure).toBeNull();
    await p.close();
  });

  it('publishes an empty tree when the files are deleted while it runs (their events, no walk)', async () => {
    const { p, published } = await publishedTwoFiles();
    rmSync(join(fx.content, 'a.txt'));
    rmSync(join(fx.content, 'docs'), { recursive: true });
    await p.submit(['a.txt', 'docs', 'docs/b.txt']);
    expect(published).toEqual([1, 2]);
    expect(p.current).toMatchObject({ version: 2, files: 0 });
    expect(p.failure).toBeNull();
    await p.close();
  });
});
