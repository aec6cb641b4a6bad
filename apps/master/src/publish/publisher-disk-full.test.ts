import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { walFileBytes } from '@outpost/store';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const fx = publisherFixture('outpost-publisher-full-', { failedBatchRetryMs: 20 });

const chunkCount = () => fx.store.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;

/** SQLite's own SQLITE_FULL, as on a full disk: the database may grow by `pages` pages (16 KiB) more. */
function capAt(pages: number) {
  const now = fx.store.db.pragma('page_count', { simple: true }) as number;
  fx.store.db.pragma(`max_page_count = ${now + pages}`);
}

describe('Publisher on a full disk', () => {
  it('drops what a failed batch stored and cuts the WAL down, so that a later edit publishes', async () => {
    writeFileSync(join(fx.content, 'small.txt'), 'small\n');
    // The first retry comes after the files that did not fit are removed (below).
    const { p, published } = fx.publisher({ failedBatchRetryMs: 1000 });
    await p.reconcile();
    expect(published).toEqual([1]);
    const before = chunkCount();

    // 3,000 files of 1 KiB: written in batches of about 1,000, of which the first fits.
    mkdirSync(join(fx.content, 'many'));
    for (let i = 0; i < 3000; i++) writeFileSync(join(fx.content, 'many', `${i}.bin`), randomBytes(1024));
    capAt(100);
    await expect(p.submit(['many'])).rejects.toThrow(/full/);
    // What it stored goes, and the WAL gives its room back.
    await vi.waitFor(() => expect(chunkCount()).toBe(before), { timeout: 5_000, interval: 10 });
    await vi.waitFor(() => expect(walFileBytes(fx.store.path)).toBe(0), { timeout: 5_000, interval: 10 });

    // The admin removes what did not fit; the retry finds nothing to publish.
    rmSync(join(fx.content, 'many'), { recursive: true });
    await vi.waitFor(() => expect(p.failure).toBeNull(), { timeout: 5_000, interval: 10 });
    // An edit needs a few pages: those the failed batch filled, given back.
    writeFileSync(join(fx.content, 'small.txt'), randomBytes(120 * 1024));
    writeFileSync(join(fx.content, 'other.bin'), randomBytes(120 * 1024));
    await p.submit(['small.txt', 'other.bin']);
    expect(published).toEqual([1, 2]);
    expect(p.failure).toBeNull();
    await p.close();
  });

  it('after an unclean stop on a full disk, sweeps what was left as the first publish fails, then publishes and is ready', async () => {
    writeFileSync(join(fx.content, 'small.txt'), 'small\n');
    const first = fx.publisher();
    await first.p.reconcile();
    await first.p.close();
    // Then a run that stored chunks for a batch that never became a version, and stopped
    // without a clean mark (a crash, or a master before this fix): they fill the volume.
    fx.store.db.prepare("DELETE FROM meta WHERE key = 'clean_shutdown'").run();
    const litter = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
    fx.store.chunks.putMany(litter.map((data) => ({ hash: sha256Hex(data), data })));
    capAt(2);

    writeFileSync(join(fx.content, 'new.bin'), randomBytes(300 * 1024));
    const { p, published } = fx.publisher();
    await p.reconcile();
    expect(published).toEqual([2]);
    expect(p.failure).toBeNull();
    expect(fx.store.chunks.has(sha256Hex(litter[0]!))).toBe(false);
    await p.close();
  });
});

describe('the large-file lane on a full disk', () => {
  it('says the file it cannot store as a publish failure, which a later edit does not clear, until it is stored', async () => {
    writeFileSync(join(fx.content, 'small.txt'), 'small\n');
    const { p, published } = fx.publisher({ laneBytes: 256 * 1024 });
    await p.reconcile();
    expect(published).toEqual([1]);
    capAt(4);
    writeFileSync(join(fx.content, 'big.bin'), randomBytes(2 * 1024 * 1024));
    void p.submit(['big.bin']);
    await vi.waitFor(() => expect(p.failure?.message).toMatch(/^big\.bin: .*full/), {
      timeout: 5_000,
      interval: 10,
    });
    // Another edit publishes, and the failure stands: the large file is still not published.
    fx.store.db.pragma('max_page_count = 1073741823');
    writeFileSync(join(fx.content, 'small.txt'), 'small, edited\n');
    capAt(4);
    await p.submit(['small.txt']);
    expect(published).toEqual([1, 2]);
    expect(p.failure?.message).toMatch(/^big\.bin: /);
    // Room again: the retry stores it, and the failure goes.
    fx.store.db.pragma('max_page_count = 1073741823');
    await vi.waitFor(() => expect(published).toEqual([1, 2, 3]), { timeout: 10_000, interval: 10 });
    expect(fx.store.versions.liveTree().get('big.bin')?.size).toBe(2 * 1024 * 1024);
    expect(p.failure).toBeNull();
    await p.close();
  });
});
