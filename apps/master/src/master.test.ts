import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_ROOT } from '@outpost/core';
import { leanHeapHeld } from '@outpost/service';
import { openStore } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMaster } from './master.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-master-'));
  mkdirSync(join(dir, 'content'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A new data folder whose current version says it holds `files` files. */
function heldVersionOf(files: number): string {
  const data = mkdtempSync(join(dir, 'data-'));
  const store = openStore(join(data, 'master.sqlite'));
  store.versions.commit({
    version: 1,
    root: EMPTY_ROOT,
    createdAt: Date.now(),
    files,
    bytes: 0,
    changes: [],
  });
  store.close();
  return data;
}

/** A master over an empty content folder and a held version of `files` files. */
const masterHolding = (files: number) =>
  buildMaster({ content: join(dir, 'content'), data: heldVersionOf(files), port: 0, logLevel: 'silent' });

describe('buildMaster, the heap a large held tree is started on', () => {
  it('holds it lean from loading the tree until the start has collected', async () => {
    const master = masterHolding(60_000);
    expect(leanHeapHeld()).toBe(true);
    try {
      await master.start();
      await new Promise((r) => setImmediate(r));
      expect(leanHeapHeld()).toBe(false);
    } finally {
      await master.stop();
    }
  });

  it('lets it go when stopped before starting, and never holds it for a smaller tree', async () => {
    await masterHolding(60_000).stop();
    expect(leanHeapHeld()).toBe(false);
    const small = masterHolding(1_000);
    expect(leanHeapHeld()).toBe(false);
    await small.stop();
  });

  it('crawls lean at a first start and for a large held tree, not for a small one', async () => {
    const crawls: boolean[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          const rec = JSON.parse(line) as { msg: string; lean?: boolean };
          if (rec.msg === 'watching content directory') crawls.push(rec.lean!);
        },
      },
    );
    const content = join(dir, 'content');
    for (const data of [join(dir, 'fresh'), heldVersionOf(1_000), heldVersionOf(60_000)]) {
      const master = buildMaster({ content, data, port: 0, logLevel: 'silent' }, { log });
      try {
        await master.start();
      } finally {
        await master.stop();
      }
    }
    expect(crawls).toEqual([true, false, true]);
  });

  it('lets go of the lean heap its first crawl ran on once started', async () => {
    const master = buildMaster({
      content: join(dir, 'content'),
      data: join(dir, 'fresh'),
      port: 0,
      logLevel: 'silent',
    });
    try {
      await master.start();
      expect(leanHeapHeld()).toBe(false);
    } finally {
      await master.stop();
    }
  });
});
