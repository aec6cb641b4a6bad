import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMaster } from '../master.js';

let dir: string;
let master: ReturnType<typeof buildMaster>;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-admin-'));
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
    adminToken: 'admin',
  });
  await master.start();
});
afterEach(async () => {
  await master.stop();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: 'Bearer admin' };

describe('the admin API on versions', () => {
  it('answers a version it does not keep with the same 404, whether asked for or rolled back to', async () => {
    expect(master.publisher.current.version).toBe(1);
    for (const n of [0, 9]) {
      const get = await master.app.inject({ url: `/_outpost/api/v1/versions/${n}`, headers: auth });
      const post = await master.app.inject({
        method: 'POST',
        url: '/_outpost/api/v1/rollback',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: { to: n },
      });
      for (const res of [get, post]) {
        expect(res.statusCode, String(n)).toBe(404);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ status: 404, detail: `version ${n} is not kept` });
      }
    }
    expect(master.publisher.current.version).toBe(1);
  });

  it('refuses a version number written other than in decimal digits, 400 with a problem body', async () => {
    for (const n of ['0x1', '1e0', '1.0', '%201', '-1', 'latest']) {
      const res = await master.app.inject({ url: `/_outpost/api/v1/versions/${n}`, headers: auth });
      expect(res.statusCode, n).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const padded = await master.app.inject({ url: '/_outpost/api/v1/versions/01', headers: auth });
    expect(padded.statusCode).toBe(200);
    expect(padded.json()).toMatchObject({ version: 1 });
  });
});
