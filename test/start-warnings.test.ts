import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Service, startMaster, startReplica, tempDir } from './helpers/services.js';

describe('what a service warns of as it starts', () => {
  const started: Service[] = [];
  const dir = tempDir();
  afterEach(async () => {
    for (const s of started.splice(0).reverse()) await s.stop();
  });
  afterAll(() => dir.cleanup());

  const masterWith = async (name: string, env: NodeJS.ProcessEnv) => {
    const content = join(dir.path, `${name}-content`);
    mkdirSync(content);
    writeFileSync(join(content, 'a.txt'), 'a\n');
    const m = await startMaster({ content, data: join(dir.path, `${name}-data`), env });
    started.push(m);
    return m;
  };
  const warnings = (s: Service) => s.logs.filter((l) => l.level === 40).map((l) => String(l.msg));

  it('a master without tokens: replication and the admin API open to whoever reaches it', async () => {
    const open = await masterWith('open', { OUTPOST_TOKEN: '', OUTPOST_ADMIN_TOKEN: '' });
    expect(warnings(open)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no OUTPOST_TOKEN \(nor --replica-tokens\): replication is open/),
        expect.stringMatching(/^no OUTPOST_ADMIN_TOKEN: the admin API is open/),
      ]),
    );
    const closed = await masterWith('closed', {
      OUTPOST_TOKEN: 'replication-token-0123456789',
      OUTPOST_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
    });
    expect(warnings(closed).filter((w) => w.startsWith('no OUTPOST_'))).toEqual([]);
  });

  it('a replica listening on every address without --advertise: the DNS cannot name it', async () => {
    const m = await masterWith('dns', {});
    const wildcard = await startReplica({
      name: 'uk-london',
      region: 'uk',
      master: m.url,
      data: join(dir.path, 'r1'),
      args: ['--host', '0.0.0.0'],
    });
    started.push(wildcard);
    expect(warnings(wildcard)).toContainEqual(
      expect.stringMatching(
        /^--host 0\.0\.0\.0 names no address readers can reach: .* give --advertise IP:PORT/,
      ),
    );
    const named = await startReplica({
      name: 'uk-leeds',
      region: 'uk',
      master: m.url,
      data: join(dir.path, 'r2'),
    });
    started.push(named);
    expect(warnings(named).filter((w) => w.includes('--advertise'))).toEqual([]);
  });
});
