import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Publisher } from './publisher.js';

const Y1960 = new Date('1960-01-01T00:00:00Z');

let dir: string;
let content: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-1960-'));
  content = join(dir, 'content');
  mkdirSync(content);
  store = openStore(join(dir, 'master.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function publisher() {
  const published: number[] = [];
  const p = new Publisher({
    contentDir: content,
    store,
    log: pino({ level: 'silent' }),
    onPublished: (v) => published.push(v.version),
  });
  return { p, published };
}

describe('a file dated before 1970', () => {
  it('is published at mtime 0, while the index keeps its real mtime (a restart reads nothing)', async () => {
    writeFileSync(join(content, 'old.txt'), 'from 1960\n');
    utimesSync(join(content, 'old.txt'), Y1960, Y1960);
    const first = publisher();
    await first.p.reconcile();
    expect(store.versions.liveTree().get('old.txt')!.mtime).toBe(0);
    expect(store.scanIndex.get('old.txt')!.mtimeMs).toBe(Y1960.getTime());
    await first.p.close();

    const again = publisher();
    await again.p.reconcile();
    expect(again.p.filesRead).toBe(0);
    expect(again.published).toEqual([]);
    await again.p.close();
  });

  it('published with a negative mtime by an older master is published again at 0 by a restart', async () => {
    writeFileSync(join(content, 'old.txt'), 'from 1960\n');
    utimesSync(join(content, 'old.txt'), Y1960, Y1960);
    const first = publisher();
    await first.p.reconcile();
    await first.p.close();
    // What a master before the clamp published (same bytes, so the same root).
    const entry = store.versions.liveTree().get('old.txt')!;
    const cur = store.versions.current();
    store.versions.commit({
      version: cur.version + 1,
      root: cur.root,
      createdAt: Date.now(),
      files: 1,
      bytes: entry.size,
      changes: [{ op: 'put', entry: { ...entry, chunks: entry.chunks, mtime: Y1960.getTime() } }],
    });
    expect(store.versions.liveTree().get('old.txt')!.mtime).toBeLessThan(0);

    const { p, published } = publisher();
    await p.reconcile();
    expect(published).toEqual([cur.version + 2]);
    expect(store.versions.liveTree().get('old.txt')!.mtime).toBe(0);
    expect(store.versions.current().root).toBe(cur.root);
    await p.close();
  });
});
