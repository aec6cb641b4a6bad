import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { runCli, type Service, startReplica } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

describe('two replica processes started with one --name', () => {
  let fleet: Fleet | undefined;
  let second: Service | undefined;
  afterEach(async () => {
    await second?.stop();
    await fleet?.stop();
    fleet = undefined;
    second = undefined;
  });

  it('are shown as an error naming where each is, and outpost status exits 1', async () => {
    const f = await Fleet.start({ files: { 'a.txt': 'a' }, replicas: [{ name: 'uk-london', region: 'uk' }] });
    fleet = f;
    await f.expectConverged();
    // The same name, its own data dir and port: a copy-pasted unit file, say.
    second = await startReplica({
      name: 'uk-london',
      region: 'uk',
      master: f.master.url,
      data: join(f.dir.path, 'second'),
    });
    const where = [f.replica('uk-london').url, second.url].map((u) => new URL(u).host);
    const r = await waitFor(
      async () =>
        (await f.masterStatus()).replicas.find((x: { error: string | null }) => x.error?.startsWith('two'))
          ?.error as string | undefined,
      { what: 'the shared name in status' },
    );
    expect(r).toMatch(/^two replica processes use this name \(at \S+ and \S+\): give each its own --name$/);
    for (const host of where) expect(r).toContain(host);
    const cli = await runCli(['status', '--master', f.master.url]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/uk-london\s+uk\s+error\s.*two replica processes use this name/);
  });
});
