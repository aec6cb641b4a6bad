import { closeSync, ftruncateSync, openSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const f = publisherFixture('outpost-stop-');

describe('closing the publisher', () => {
  it.each([
    ['in the large-file lane', {}],
    ['in a batch (under the lane threshold)', { laneBytes: 2 ** 40 }],
  ])(
    'does not wait for the rest of a large file it is reading %s, and publishes none of it',
    async (_, opts) => {
      writeFileSync(join(f.content, 'seed.txt'), 'seed\n');
      const { p, published } = await f.reconciled(opts);
      expect(published).toEqual([1]);
      // 1 GiB, sparse: reading and hashing it takes seconds.
      const big = join(f.content, 'big.iso');
      const fd = openSync(big, 'w');
      ftruncateSync(fd, 1024 ** 3);
      closeSync(fd);
      utimesSync(big, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const submitted = p.submit(['big.iso']);
      await vi.waitUntil(() => p.publishing !== null, { timeout: 5000, interval: 5 });
      const started = Date.now();
      await p.close();
      await submitted;
      expect(published).toEqual([1]);
      expect(f.store.versions.liveTree().has('big.iso')).toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
    },
  );
});
