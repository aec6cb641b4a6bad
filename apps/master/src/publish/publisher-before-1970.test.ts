import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const Y1960 = new Date('1960-01-01T00:00:00Z');

const fx = publisherFixture('outpost-1960-');

describe('a file dated before 1970', () => {
  it('is published at mtime 0, while the index keeps its real mtime (a restart reads nothing)', async () => {
    writeFileSync(join(fx.content, 'old.txt'), 'from 1960\n');
    utimesSync(join(fx.content, 'old.txt'), Y1960, Y1960);
    const first = fx.publisher();
    await first.p.reconcile();
    expect(fx.store.versions.liveTree().get('old.txt')!.mtime).toBe(0);
    expect(fx.store.scanIndex.get('old.txt')!.mtimeMs).toBe(Y1960.getTime());
    await first.p.close();

    const again = fx.publisher();
    await again.p.reconcile();
    expect(again.p.filesRead).toBe(0);
    expect(again.published).toEqual([]);
    await again.p.close();
  });

  it('published with a negative mtime by an older master is published again at 0 by a restart', async () => {
    writeFileSync(join(fx.content, 'old.txt'), 'from 1960\n');
    utimesSync(join(fx.content, 'old.txt'), Y1960, Y1960);
    const first = fx.publisher();
    await first.p.reconcile();
    await first.p.close();
    // What a master before the clamp published (same bytes, so the same root).
    const entry = fx.store.versions.liveTree().get('old.txt')!;
    const cur = fx.store.versions.current();
    fx.store.versions.commit({
      version: cur.version + 1,
      root: cur.root,
      createdAt: Date.now(),
      files: 1,
      bytes: entry.size,
      changes: [{ op: 'put', entry: { ...entry, chunks: entry.chunks, mtime: Y1960.getTime() } }],
    });
    expect(fx.store.versions.liveTree().get('old.txt')!.mtime).toBeLessThan(0);

    const { p, published } = fx.publisher();
    await p.reconcile();
    expect(published).toEqual([cur.version + 2]);
    expect(fx.store.versions.liveTree().get('old.txt')!.mtime).toBe(0);
    expect(fx.store.versions.current().root).toBe(cur.root);
    await p.close();
  });
});
