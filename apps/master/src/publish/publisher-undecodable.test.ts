import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

// Counts the listings of a folder as bytes: how names that are not UTF-8 are found.
const byteListings = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  return {
    ...real,
    readdirSync: ((path: string, options?: { encoding?: string }) => {
      if (options?.encoding === 'buffer') byteListings.count++;
      return (real.readdirSync as (...a: unknown[]) => unknown)(path, options);
    }) as typeof real.readdirSync,
  };
});

const f = publisherFixture('outpost-undecodable-');

describe('names that are not UTF-8', () => {
  it('made in a burst in one folder cost one listing of it, not one each', async () => {
    mkdirSync(join(f.content, 'latin1'));
    writeFileSync(join(f.content, 'seed.txt'), 'seed\n');
    const { p, published } = await f.reconciled();
    expect(published).toEqual([1]);
    // 500 names in Latin-1 (caf\xe9-N.txt), as the watcher names them: U+FFFD for the bad byte.
    const named: string[] = [];
    for (let i = 0; i < 500; i++) {
      const raw = Buffer.concat([
        Buffer.from(`${f.content}/latin1/caf`),
        Buffer.from([0xe9]),
        Buffer.from(`-${i}.txt`),
      ]);
      writeFileSync(raw, 'x');
      named.push(`latin1/caf\uFFFD-${i}.txt`);
    }
    writeFileSync(join(f.content, 'latin1', 'ok.txt'), 'ok\n');
    byteListings.count = 0;
    await p.submit([...named, 'latin1/ok.txt']);
    expect(byteListings.count).toBe(1);
    expect([...f.store.versions.liveTree().keys()].sort()).toEqual(['latin1/ok.txt', 'seed.txt']);
    expect(named.every((path) => p.problems.get(path) === 'name is not valid UTF-8')).toBe(true);
    await p.close();
  });
});
