import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const f = publisherFixture('outpost-long-paths-');

/**
 * Folders nested past the system's PATH_MAX (4,096 bytes), made one level at a time as a
 * program that works in relative paths makes them (an unpacked archive, a sync tool): each
 * is listed, stat'ed or read by its absolute path only at the risk of ENAMETOOLONG.
 */
function deepTree(under: string): string {
  const top = join(under, 'deep');
  const make = `const fs = require('node:fs');
    fs.mkdirSync(process.argv[1]);
    process.chdir(process.argv[1]);
    for (let i = 1; i <= 20; i++) {
      const name = 'd'.repeat(250) + i;
      fs.mkdirSync(name);
      process.chdir(name);
    }
    fs.writeFileSync('leaf.txt', 'leaf');`;
  execFileSync(process.execPath, ['-e', make, top]);
  return top;
}

describe('a folder nested past PATH_MAX', () => {
  it('is reported and skipped, and the rest of the tree publishes, at a start, an event and a rewalk', async () => {
    writeFileSync(join(f.content, 'ok.txt'), 'ok\n');
    const top = join(f.content, 'deep');
    try {
      deepTree(f.content);
      const { p, published } = await f.reconciled();
      expect(p.failure).toBeNull();
      expect(published).toEqual([1]);
      expect([...f.store.versions.liveTree().keys()]).toEqual(['ok.txt']);
      const problems = [...p.problems].filter(([, why]) => why === 'unreadable directory: ENAMETOOLONG');
      expect(problems).toHaveLength(1);
      expect(problems[0]![0].startsWith('deep/')).toBe(true);

      // The watcher names the folder; a file added beside it still publishes.
      writeFileSync(join(f.content, 'new.txt'), 'new\n');
      await p.submit(['deep', 'new.txt']);
      expect(p.failure).toBeNull();
      expect([...f.store.versions.liveTree().keys()].sort()).toEqual(['new.txt', 'ok.txt']);
      expect(await p.rewalk()).toBeGreaterThanOrEqual(0);
      expect(p.failure).toBeNull();
      await p.close();
    } finally {
      // Node's own removal goes by absolute paths too; rm(1) descends by relative ones.
      execFileSync('rm', ['-rf', top]);
    }
  });
});
