import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MasterConfigInput } from '@outpost/protocol';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { buildMaster, type Master } from '../master.js';

/**
 * For route tests: a started master (port 0, silent) over a temp content dir holding `a.txt`,
 * published as version 1, and gone after the test (`each`) or the file (`all`).
 */
export function oneFileMaster(prefix: string, options: Partial<MasterConfigInput>, per: 'each' | 'all') {
  let dir = '';
  let master: Master | undefined;
  const [before, after] = per === 'each' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    mkdirSync(join(dir, 'content'));
    writeFileSync(join(dir, 'content', 'a.txt'), 'a\n');
    // Older than the settle window: the start publishes it as version 1 before it resolves.
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'content', 'a.txt'), old, old);
    master = buildMaster({
      content: join(dir, 'content'),
      data: join(dir, 'data'),
      port: 0,
      logLevel: 'silent',
      ...options,
    });
    await master.start();
  });
  after(async () => {
    await master?.stop();
    master = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    /** The master of the current test. */
    get master(): Master {
      if (!master) throw new Error('no master outside a test');
      return master;
    },
  };
}
