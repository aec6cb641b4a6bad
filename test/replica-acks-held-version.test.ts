import { chunkBuffer, merkleRoot, sha256Hex } from '@outpost/core';
import type { Manifest } from '@outpost/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMaster } from './helpers/fake-master.js';
import { type Service, startReplica, tempDir } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/** A one-file version for the fake master to hold. */
function versionOf(text: string): { manifest: Manifest; chunks: Map<string, Buffer> } {
  const data = Buffer.from(text);
  const put = {
    op: 'put' as const,
    path: 'a.txt',
    size: data.length,
    hash: sha256Hex(data),
    mtime: 1_700_000_000_000,
    chunks: chunkBuffer(data).map((c) => ({ hash: sha256Hex(c), size: c.length })),
  };
  const chunks = new Map(chunkBuffer(data).map((c) => [sha256Hex(c), c] as const));
  return { manifest: { version: 1, from: 0, full: true, root: merkleRoot([put]), changes: [put] }, chunks };
}

/**
 * A master records what a replica holds from its hello and its ACKs. When a pull takes a
 * version in while the push link comes up, the hello names the version before, and the master
 * pushes the one the replica now holds: unanswered, the master showed the replica behind (and
 * `outpost status` failing) until the next version, which a quiet tree may never bring.
 */
describe('a replica pushed the version it holds', () => {
  const stops: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('ACKs it again, so that the master knows it holds it', async () => {
    const v1 = versionOf('one\n');
    const fake = await startFakeMaster(v1);
    stops.push(() => fake.close());
    const dir = tempDir('outpost-ack-held-');
    stops.push(dir.cleanup);
    const replica: Service = await startReplica({
      name: 'uk-london',
      region: 'uk',
      master: fake.url,
      data: dir.path,
    });
    stops.push(() => replica.stop());
    const link = await fake.linkAfter(0);
    await waitFor(() => link.acks.length > 0, { what: 'the ACK of version 1' });

    link.ws.send(JSON.stringify({ type: 'publish', ...v1.manifest }));
    await waitFor(() => link.acks.length > 1, { what: 'an ACK of the version pushed again' });
    expect(link.acks).toEqual([
      { version: 1, root: v1.manifest.root },
      { version: 1, root: v1.manifest.root },
    ]);
    expect(link.nacks).toEqual([]);
  });
});
