import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

// The first read of download.iso finds it changed while it was read, as a read of a file
// still being downloaded does; every read is counted.
const reads = vi.hoisted(() => ({ count: 0 }));
vi.mock('./read-file.js', async (original) => {
  const real = await original<typeof import('./read-file.js')>();
  return {
    ...real,
    readFileIntoStore: async (...args: Parameters<typeof real.readFileIntoStore>) => {
      const result = await real.readFileIntoStore(...args);
      if (result.kind === 'file' && args[1] === 'download.iso' && reads.count++ === 0)
        return { kind: 'unstable', reason: 'changed while it was read' } as const;
      return result;
    },
  };
});

const f = publisherFixture('outpost-growing-', { settleMs: 50, retryMs: 10_000 });

/** Writes the file and dates it `agoMs` back. */
function write(text: string, agoMs: number) {
  const abs = join(f.content, 'download.iso');
  writeFileSync(abs, text);
  const when = new Date(Date.now() - agoMs);
  utimesSync(abs, when, when);
}

describe('a file that changed while it was read', () => {
  it('is read again once it has rested as long as its backoff, not at each write the watcher reports', async () => {
    writeFileSync(join(f.content, 'seed.txt'), 'seed\n');
    utimesSync(join(f.content, 'seed.txt'), new Date(Date.now() - 1000), new Date(Date.now() - 1000));
    const { p, published } = await f.reconciled();
    expect(published).toEqual([1]);
    write('part 1', 1000);
    await p.submit(['download.iso']);
    expect(reads.count).toBe(1);
    // The next write, once it is older than --settle-ms but well within the backoff (10 s here).
    // (Written, not dated back: a file whose ctime is past its mtime was moved into place, and
    // is read at once.)
    const abs = join(f.content, 'download.iso');
    writeFileSync(abs, 'part 1, part 2');
    await vi.waitUntil(() => Date.now() - statSync(abs).mtimeMs > 100, { timeout: 5000, interval: 10 });
    await p.submit(['download.iso']);
    expect(reads.count).toBe(1);
    expect(published).toEqual([1]);
    // Left alone past the backoff (dated back: moved into place, it would be read at once anyway).
    write('part 1, part 2, part 3', 11_000);
    await p.submit(['download.iso']);
    expect(reads.count).toBe(2);
    expect(published).toEqual([1, 2]);
    expect(f.store.versions.liveTree().get('download.iso')?.size).toBe(22);
    await p.close();
  });
});
