import { createHash } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

describe('corrupt chunks', () => {
  let fleet: Fleet | undefined;
  let closeProxy: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeProxy?.();
    await fleet?.stop();
    fleet = undefined;
  });

  it('are never stored or served: the version is NACKed with the reason, shown in status, and retried', async () => {
    fleet = await Fleet.start({ files: { 'small.txt': 'tiny\n' } });
    const proxy = await startFaultProxy(fleet.master.url);
    closeProxy = proxy.close;
    await fleet.startReplica('uk-london', 'uk', { master: proxy.url });
    const v1 = await fleet.expectConverged();

    // Every attempt at the new file's chunks comes back corrupted until the link is fixed.
    proxy.setCorrupting(true);
    const big = Buffer.alloc(200 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    fleet.write('big.bin', big);
    const nacked = await waitFor(
      async () => {
        const s = await fleet!.masterStatus();
        const r = s.replicas.find((x: any) => x.name === 'uk-london');
        return r?.error?.includes('failed verification') ? r : null;
      },
      { what: 'the master to show the NACK' },
    );
    expect(nacked.error).toMatch(/version \d+ refused: .*chunk [0-9a-f]{64} failed verification/);
    expect(nacked.state).toBe('error');
    // Meanwhile the replica still serves the last complete version, and nothing of the new one.
    const during = await get(`${fleet.replica('uk-london').url}/big.bin`);
    if (during.status === 200)
      expect(createHash('sha256').update(during.body).digest('hex')).toBe(
        createHash('sha256').update(big).digest('hex'),
      );
    else expect(during.headers['x-outpost-version']).toBe(String(v1.version));

    // Once the link behaves, the retry succeeds and the error clears.
    proxy.setCorrupting(false);
    await fleet.expectConverged();
    expect(proxy.corrupted()).toBeGreaterThanOrEqual(3);
    await waitFor(async () => {
      const s = await fleet!.masterStatus();
      return s.replicas[0].state === 'in-sync' && s.replicas[0].error === null;
    });

    // No stored chunk is anything but what its address says.
    const db = new BetterSqlite3(join(fleet.dir.path, 'replica-uk-london', 'replica.sqlite'), {
      readonly: true,
    });
    try {
      const rows = db.prepare('SELECT hash, data FROM chunks').all() as { hash: string; data: Buffer }[];
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(createHash('sha256').update(row.data).digest('hex')).toBe(row.hash);
    } finally {
      db.close();
    }
  });
});
