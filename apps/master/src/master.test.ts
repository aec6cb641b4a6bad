import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_ROOT } from '@outpost/core';
import { leanHeapHeld } from '@outpost/service';
import { openStore } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildMaster } from './master.js';
import { makeDirAfterListing } from './watch/mid-crawl-dir.test-helper.js';

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
      await master.watched();
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
        await master.watched();
      } finally {
        await master.stop();
      }
    }
    // A first start (it cannot count the tree before the crawl), a small held tree, a large one.
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
      await master.watched();
      expect(leanHeapHeld()).toBe(false);
    } finally {
      await master.stop();
    }
  });
});

describe('buildMaster, ready before the watch', () => {
  it('on a restart, is ready once reconciled, then watches, and publishes what changed before the watches were in place', async () => {
    const content = join(dir, 'content');
    const data = join(dir, 'data');
    const old = new Date(Date.now() - 60_000);
    // Older than the settle window, so a walk publishes them at once.
    const writeOld = (name: string) => {
      writeFileSync(join(content, name), name);
      utimesSync(join(content, name), old, old);
    };
    writeOld('a.txt');
    const first = buildMaster({ content, data, port: 0, logLevel: 'silent' });
    await first.start();
    await first.stop();
    writeOld('c.txt');

    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line).msg) });
    const master = buildMaster({ content, data, port: 0, logLevel: 'silent', adminToken: 'admin' }, { log });
    const status = async () =>
      (
        await master.app.inject({
          url: '/_outpost/api/v1/status',
          headers: { authorization: 'Bearer admin' },
        })
      ).json();
    // Written as the restart's walk cuts version 2: no watch is in place yet.
    const off = master.onPublished((v) => {
      if (v.version === 2) writeFileSync(join(content, 'b.txt'), 'written before the watch');
    });
    try {
      await master.start();
      expect(master.publisher.current).toMatchObject({ version: 2, files: 2 });
      // Ready, and says the watches are not in place yet.
      expect(await status()).toMatchObject({ ready: true, watching: false });
      await master.watched();
      expect(await status()).toMatchObject({ ready: true, watching: true });
      expect(lines.indexOf('outpost master listening')).toBeLessThan(
        lines.indexOf('watching content directory'),
      );
      // The second walk comes after the watches: what it does not see, they do.
      expect(lines.indexOf('watching content directory')).toBeLessThan(
        lines.indexOf('looked again at what may have changed before the watches were in place'),
      );
      // b.txt is younger than the settle window: published once it has settled.
      await vi.waitFor(() => expect(master.publisher.current.version).toBe(3), {
        timeout: 10_000,
        interval: 20,
      });
      expect(master.publisher.current).toMatchObject({ version: 3, files: 3 });
    } finally {
      off();
      await master.stop();
    }
  });

  it('at a first start, watches before it walks', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line).msg) });
    const master = buildMaster(
      { content: join(dir, 'content'), data: join(dir, 'data'), port: 0, logLevel: 'silent' },
      { log },
    );
    try {
      writeFileSync(join(dir, 'content', 'a.txt'), 'a');
      await master.start();
      await master.watched();
      expect(lines.indexOf('watching content directory')).toBeGreaterThan(-1);
      expect(lines.indexOf('watching content directory')).toBeLessThan(
        lines.indexOf('outpost master listening'),
      );
    } finally {
      await master.stop();
    }
  });

  // chokidar lists a directory and only then watches it: one made in between is in no listing
  // and has no watch, so what is written in it later is seen by no one until a rewalk, ten
  // minutes on. The walk after the crawl lists it, and the master watches it then.
  it.each([
    ['a first start', false],
    ['a restart', true],
  ])('on %s, watches a directory made while the watcher crawled', async (_what, restart) => {
    const content = join(dir, 'content');
    const data = join(dir, 'data');
    writeFileSync(join(content, 'a.txt'), 'a');
    if (restart) {
      const first = buildMaster({ content, data, port: 0, logLevel: 'silent' });
      await first.start();
      await first.stop();
    }
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line).msg) });
    const master = buildMaster({ content, data, port: 0, logLevel: 'silent' }, { log });
    const restore = makeDirAfterListing(content, 'late');
    try {
      await master.start();
      await master.watched();
      restore();
      expect(lines).toContain('watching directories the watcher had missed (made while it crawled)');
      const filesNow = (n: number) =>
        vi.waitFor(() => expect(master.publisher.current.files).toBe(n), { timeout: 10_000, interval: 20 });
      // Written as the walk ends, before the watch is surely in place: the directory is looked
      // at again a second after it is watched.
      writeFileSync(join(content, 'late', 'b.txt'), 'written as the master watches');
      await filesNow(2);
      // Then its watch sees what comes.
      writeFileSync(join(content, 'late', 'c.txt'), 'written later');
      await filesNow(3);
    } finally {
      restore();
      await master.stop();
    }
  });
});
