import { createCipheriv } from 'node:crypto';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

function noise(n: number): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.alloc(32, 9), Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

describe('a large file in the master’s large-file lane', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('does not hold up a small edit, and a kill -9 mid-read leaves a store the restart completes', async () => {
    // Test-only hook: while this file exists the lane waits before each 1 MiB it reads, so
    // the read is held open for as long as the test needs, without a multi-GiB file.
    const f = new Fleet({ files: { 'seed.txt': 'seed\n' }, masterArgs: ['--lane-mib', '1'] });
    fleet = f;
    const hold = join(f.dir.path, 'hold-lane');
    writeFileSync(hold, '');
    await f.startMaster({ env: { OUTPOST_TEST_LANE_HOLD: hold } });
    await f.startReplica('uk-london', 'uk');
    await f.expectConverged();
    // 4 MiB against a 1 MiB threshold (--lane-mib 1).
    // Written beside the content directory, settled, and moved in whole: the lane's first read is the held one.
    const staged = join(f.dir.path, 'big.bin');
    writeFileSync(staged, noise(4 * 1024 * 1024));
    const past = new Date(Date.now() - 60_000);
    utimesSync(staged, past, past);
    renameSync(staged, join(f.content, 'big.bin'));
    await waitFor(
      () => f.master.logs.some((l) => String(l.msg).startsWith('reading a large file in the lane')),
      {
        what: 'the lane to take big.bin',
      },
    );
    const status = await f.masterStatus();
    expect(status.publishing).toMatchObject({ filesDone: 0, filesTotal: 1 });
    f.write('small.txt', 'a one-line edit\n');
    const res = await waitFor(
      async () => {
        const r = await get(`${f.replica('uk-london').url}/small.txt`);
        return r.status === 200 ? r : null;
      },
      { what: 'the small edit served while big.bin is read' },
    );
    expect(res.body.toString()).toBe('a one-line edit\n');
    // Still being read: neither published nor served.
    expect((await get(`${f.replica('uk-london').url}/big.bin`)).status).toBe(404);
    expect((await f.masterStatus()).publishing).not.toBeNull();
    await f.master.kill();
    // The startup reconcile reads it itself (the lane, still held, opens only after it).
    await f.startMaster({ env: { OUTPOST_TEST_LANE_HOLD: hold } });
    await f.expectConverged();
  }, 30_000);
});
