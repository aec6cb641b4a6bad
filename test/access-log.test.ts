import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

describe('the replica access log (--access-log)', () => {
  let fleet: Fleet;
  let path: string;
  const lines = (file = path) =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

  beforeAll(async () => {
    fleet = await Fleet.start({ files: { 'policy.md': 'the policy\n' } });
    path = join(fleet.dir.path, 'logs', 'access.log');
    await fleet.startReplica('uk-london', 'uk', { args: ['--access-log', path] });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('writes a combined line for every response: content, misses, ranges, traversal tries', async () => {
    const url = fleet.replica('uk-london').url;
    // Each request carries a mark, so its line is found among the status polls and the rest.
    expect(
      (await get(`${url}/policy.md?m=1`, { 'user-agent': 'agent "one"', referer: 'http://intranet/' }))
        .status,
    ).toBe(200);
    expect((await get(`${url}/nope.txt?m=2`)).status).toBe(404);
    expect((await get(`${url}/policy.md?m=3`, { range: 'bytes=0-2' })).status).toBe(206);
    expect((await get(`${url}/policy.md?m=4`, {}, 'HEAD')).status).toBe(200);
    expect((await get(`${url}/%252e%252e/secret?m=5`)).status).toBe(404);
    const marked = () => lines().filter((l) => /\?m=\d /.test(l));
    const got = await waitFor(() => (marked().length >= 5 ? marked() : null), {
      what: 'five access log lines',
    });
    const clf =
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;
    const parsed = got.map((l) => {
      const m = clf.exec(l);
      expect(m, l).not.toBeNull();
      return m!.slice(1);
    });
    expect(parsed[0]).toEqual([
      'GET /policy.md?m=1 HTTP/1.1',
      '200',
      '11',
      'http://intranet/',
      'agent \\x22one\\x22',
    ]);
    expect(parsed[1]!.slice(0, 2)).toEqual(['GET /nope.txt?m=2 HTTP/1.1', '404']);
    expect(parsed[2]!.slice(0, 3)).toEqual(['GET /policy.md?m=3 HTTP/1.1', '206', '3']);
    expect(parsed[3]!.slice(0, 3)).toEqual(['HEAD /policy.md?m=4 HTTP/1.1', '200', '0']);
    expect(parsed[4]!.slice(0, 2)).toEqual(['GET /%252e%252e/secret?m=5 HTTP/1.1', '404']);
    // The admin API is logged too, as any request is.
    expect(lines().some((l) => l.includes('"GET /_outpost/api/v1/status HTTP/1.1" 200 '))).toBe(true);
  });

  it('opens the file again on SIGHUP, after logrotate moved it away', async () => {
    const url = fleet.replica('uk-london').url;
    await get(`${url}/policy.md?before-rotation`);
    await waitFor(() => lines().some((l) => l.includes('before-rotation')), {
      what: 'the line before rotation',
    });
    const rotated = `${path}.1`;
    renameSync(path, rotated);
    fleet.replica('uk-london').proc.kill('SIGHUP');
    await waitFor(() => fleet.replica('uk-london').logs.some((l) => l.msg === 'access log opened again'), {
      what: 'the reopen',
    });
    await get(`${url}/policy.md?after-rotation`);
    await waitFor(() => lines().some((l) => l.includes('after-rotation')), {
      what: 'the line in the new file',
    });
    expect(lines(rotated).some((l) => l.includes('after-rotation'))).toBe(false);
    expect(lines(rotated).some((l) => l.includes('before-rotation'))).toBe(true);
    // Nor does it end a service with nothing to reload (systemd's ExecReload sends it to every one).
    fleet.master.proc.kill('SIGHUP');
    await waitFor(
      () =>
        fleet.master.logs.some(
          (l) => l.msg === 'SIGHUP: nothing to reload (no --tls-cert, no --replica-tokens)',
        ),
      {
        what: 'the master to take SIGHUP',
      },
    );
    expect(fleet.master.proc.exitCode).toBeNull();
    expect((await get(`${fleet.master.url}/_outpost/healthz`)).status).toBe(200);
    // SIGHUP did not end it, and it still serves.
    expect(fleet.replica('uk-london').proc.exitCode).toBeNull();
    expect((await get(`${url}/policy.md`)).status).toBe(200);
  });
});
