import { createCipheriv } from 'node:crypto';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { snapshotStore } from './crash/store-probe.js';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

const MiB = 1024 * 1024;

function noise(n: number): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.alloc(32, 9), Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** True when the stopped master's store holds the clean-stop mark. */
function cleanMark(file: string): boolean {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT 1 FROM meta WHERE key = 'clean_shutdown'").get() !== undefined;
  } finally {
    db.close();
  }
}

/**
 * A fleet (master with --lane-mib 1, one replica) whose lane reads 10 MiB of a 12 MiB big.bin
 * and is then held there (OUTPOST_TEST_LANE_HOLD, test-only): mid-file, with a full 8 MiB write
 * of its chunks committed, and no version naming them.
 */
async function heldMidRead(): Promise<{ f: Fleet; store: string; hold: string }> {
  const f = new Fleet({ files: { 'seed.txt': 'seed\n' }, masterArgs: ['--lane-mib', '1'] });
  const hold = join(f.dir.path, 'hold-lane');
  writeFileSync(hold, '10');
  const store = join(f.dir.path, 'master', 'master.sqlite');
  await f.startMaster({ env: { OUTPOST_TEST_LANE_HOLD: hold } });
  await f.startReplica('uk-london', 'uk');
  await f.expectConverged();
  const seeded = snapshotStore(store)!.chunks.size;
  // Written beside the content directory, settled, and moved in whole: the lane's first read is the held one.
  const staged = join(f.dir.path, 'big.bin');
  writeFileSync(staged, noise(12 * MiB));
  const past = new Date(Date.now() - 60_000);
  utimesSync(staged, past, past);
  renameSync(staged, join(f.content, 'big.bin'));
  await waitFor(() => (snapshotStore(store)?.chunks.size ?? 0) > seeded, {
    what: 'the lane to store chunks of big.bin',
  });
  return { f, store, hold };
}

describe('a large file in the master’s large-file lane', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('does not hold up a small edit, and a kill -9 mid-read leaves a store the restart completes', async () => {
    const { f, hold } = await heldMidRead();
    fleet = f;
    expect((await f.masterStatus()).publishing).toMatchObject({ filesDone: 0, filesTotal: 1 });
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
  });

  it('is cut short by SIGTERM, which then leaves no clean-stop mark; the restart publishes it', async () => {
    const { f, store, hold } = await heldMidRead();
    fleet = f;
    const started = Date.now();
    await f.master.stop();
    // Held, the read would never end: a stop that waited for it would hang. Prompt, then, and
    // under the 10 s default --drain-ms, with room for a busy machine's slow shutdown.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(f.master.logs.some((l) => l.msg === 'published version' && l.version === 2)).toBe(false);
    expect(cleanMark(store)).toBe(false);
    await f.startMaster({ env: { OUTPOST_TEST_LANE_HOLD: hold } });
    await f.expectConverged();
  });
});
