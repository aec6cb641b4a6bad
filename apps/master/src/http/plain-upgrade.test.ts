import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMaster } from '../master.js';

let dir: string;
let master: ReturnType<typeof buildMaster>;
let url: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-upgrade-'));
  mkdirSync(join(dir, 'content'));
  master = buildMaster({
    content: join(dir, 'content'),
    data: join(dir, 'data'),
    port: 0,
    logLevel: 'silent',
  });
  url = await master.start();
});
afterEach(async () => {
  await master.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A request as `curl --http2` sends it over plain HTTP: asking to upgrade to h2c. */
function askingForH2c(path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        connection: 'Upgrade, HTTP2-Settings',
        upgrade: 'h2c',
        'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('a request asking for an upgrade other than a WebSocket', () => {
  it('is answered as plain HTTP/1.1 by its route, where every one got 404', async () => {
    const health = await askingForH2c('/_outpost/healthz');
    expect(health).toEqual({ status: 200, body: '{"status":"ok"}' });
    const status = await askingForH2c('/_outpost/api/v1/status');
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ role: 'master' });
    expect((await askingForH2c('/_outpost/api/v1/nothing')).status).toBe(404);
  });

  it('with a body, which no longer reaches the route, is refused with a problem', async () => {
    const r = await askingForH2c('/_outpost/api/v1/rollback', '{"to":1}');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({
      status: 400,
      detail: expect.stringContaining('without Upgrade'),
    });
  });
});
