import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * A master whose store is lost (a new disk, a fresh install) numbers its versions from 1
 * again, while its replicas hold higher numbers, and a replica's versions only grow: without
 * help every replica refuses every version and serves the old content for ever.
 */
describe('a master whose store was lost', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('cuts a version past what its replicas hold, and they converge on its content', async () => {
    const f = await Fleet.start({
      files: { 'a.txt': 'a1' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
    fleet = f;
    await f.expectConverged();
    f.write('b.txt', 'b');
    await f.expectConverged();
    f.write('c.txt', 'c');
    const before = await f.expectConverged();
    expect(before.version).toBe(3);

    // One replica is down meanwhile: it comes back to the new master by pull and push alike.
    await f.replica('asia-tokyo').stop();
    await f.master.stop();
    rmSync(join(f.dir.path, 'master'), { recursive: true, force: true });
    f.write('a.txt', 'a2, after the store was lost');
    f.remove('b.txt');
    await f.startMaster();
    // It publishes the directory as version 1, then hears from uk-london, which holds 3.
    await waitFor(async () => (await f.masterStatus()).version === 4, {
      what: 'the master to cut version 4',
    });
    const after = await f.expectConverged(['uk-london'], ['b.txt']);
    expect(after.version).toBe(4);
    await f.startReplica('asia-tokyo', 'asia');
    await f.expectConverged(undefined, ['b.txt']);
    // A replica serves version 4 a moment before its ACK reaches the master: wait for the
    // master's word (a CI run on Node 24 read it in between).
    let seen: unknown;
    const s = await waitFor(
      async () => {
        const now = await f.masterStatus();
        seen = now.replicas;
        return now.replicas.every((r: { version: number }) => r.version === 4) ? now : null;
      },
      { what: "the master to record both replicas' ACKs of version 4" },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the master said: ${JSON.stringify(seen)}`);
    });
    for (const r of s.replicas) expect(r).toMatchObject({ version: 4, state: 'in-sync', error: null });
    // Down the master's stdout, which may be read after the status answers on the socket.
    const warned = await waitFor(
      () =>
        f.master.logs.find(
          (l) => l.msg === 'published the latest content again, numbered past a version a replica holds',
        ),
      { what: "the master's warning of the renumbered publish" },
    );
    expect(warned).toMatchObject({ version: 4, past: 3 });
    // And on from there as usual.
    f.write('d.txt', 'd');
    const next = await f.expectConverged(undefined, ['b.txt']);
    expect(next.version).toBe(5);
    await waitFor(async () => (await f.replicaStatus('uk-london')).error === null, { what: 'no error left' });
  });

  it('follows a pull beyond its history only from a replica that names itself', async () => {
    const f = await Fleet.start({ files: { 'a.txt': 'a' }, replicas: [] });
    fleet = f;
    const { root, version } = await waitFor(
      async () => {
        const s = await f.masterStatus();
        return s.version >= 1 ? s : null;
      },
      { what: 'version 1' },
    );
    const pull = (query: string) => fetch(`${f.master.url}/_outpost/api/v1/manifest?${query}`);
    // A script with the token, no name: answered, and the numbering stays where it was.
    expect((await pull(`from=${version + 1000}&root=${root}`)).status).toBe(200);
    // A replica that names itself and holds more is followed: had the anonymous claim been
    // followed, the master would be past 1,000 and this claim would be behind it.
    expect((await pull(`from=${version + 10}&root=${root}&name=uk-london&region=uk`)).status).toBe(200);
    const after = await waitFor(
      async () => {
        const s = await f.masterStatus();
        return s.version > version ? s : null;
      },
      { what: 'the master to number past the named claim' },
    );
    expect(after.version).toBe(version + 11);
  });
});
