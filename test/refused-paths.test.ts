import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get, getJson } from './helpers/http.js';
import { runCli } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

describe('paths the master refuses to publish', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'ok.txt': 'fine\n' },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('are reported in status with a reason and a log line, never published; the rest goes on', async () => {
    fleet.write('_outpost/api/v1/status', 'shadowing the admin API\n');
    fleet.write('back\\slash.txt', 'a backslash in a name\n');
    fleet.write('bell\u0007.txt', 'a control character in a name\n');
    fleet.write('Report.txt', 'upper\n');
    await waitFor(async () => (await fleet.masterStatus()).files === 2, { what: 'Report.txt published' });
    fleet.write('report.txt', 'lower: would overwrite Report.txt on Windows and macOS\n');
    fleet.write('next.txt', 'still published\n');

    const problems = await waitFor(
      async () => {
        const s = await fleet.masterStatus();
        return s.problems.length >= 4 && s.files === 3 ? s.problems : null;
      },
      { what: 'four refusals and next.txt published' },
    );
    const byPath = Object.fromEntries(problems.map((p: any) => [p.path, p.problem]));
    expect(byPath['_outpost/api/v1/status']).toBe('reserved top-level name _outpost');
    expect(byPath['back\\slash.txt']).toBe('backslash');
    expect(byPath['bell\u0007.txt']).toBe('control character');
    expect(byPath['report.txt']).toBe('differs only in case from Report.txt');
    // The log lines come through the master's stdout pipe, which may lag the status a little.
    await waitFor(() => fleet.master.logs.filter((l) => l.msg === 'refusing to publish path').length >= 4, {
      what: 'a log line for each of the four refusals',
    });

    await waitFor(async () => (await get(`${fleet.replica('uk-london').url}/next.txt`)).status === 200);
    const url = fleet.replica('uk-london').url;
    expect((await get(`${url}/report.txt`)).status).toBe(404);
    expect((await get(`${url}/Report.txt`)).body.toString()).toBe('upper\n');
    const admin = await get(`${url}/_outpost/api/v1/status`);
    expect(JSON.parse(admin.body.toString()).role).toBe('replica');

    // Once the clash is gone, the path is published.
    fleet.remove('Report.txt');
    await waitFor(async () => (await get(`${url}/Report.txt`)).status === 404);
    fleet.write('report.txt', 'lower, alone now\n');
    await waitFor(async () => (await get(`${url}/report.txt`)).status === 200, {
      what: 'report.txt published',
    });
    expect((await fleet.masterStatus()).problems.some((p: any) => p.path === 'report.txt')).toBe(false);
  });

  it('are counted in status and listed there up to 100; /problems and `outpost status --json` list them all', async () => {
    const before = (await fleet.masterStatus()).problemCount;
    for (let i = 0; i < 150; i++) fleet.write(`many\\${String(i).padStart(3, '0')}.txt`, `${i}\n`);
    const s = await waitFor(
      async () => {
        const s = await fleet.masterStatus();
        return s.problemCount === before + 150 ? s : null;
      },
      { what: '150 more refusals' },
    );
    // The status a dashboard fetches every 2 s stays small however many paths are refused.
    expect(s.problems).toHaveLength(100);

    const all = await getJson(`${fleet.master.url}/_outpost/api/v1/problems`);
    expect(all.count).toBe(before + 150);
    const many = all.problems.filter((p: any) => p.path.startsWith('many\\'));
    expect(many.map((p: any) => p.path)).toEqual(
      Array.from({ length: 150 }, (_, i) => `many\\${String(i).padStart(3, '0')}.txt`),
    );
    expect(new Set(many.map((p: any) => p.problem))).toEqual(new Set(['backslash']));

    const json = await runCli(['status', '--master', fleet.master.url, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).problems).toEqual(all.problems);
    const text = await runCli(['status', '--master', fleet.master.url]);
    expect(text.stdout).toContain(`not published: ${before + 150} paths`);
    expect(text.stdout).toContain(`… and ${before + 140} more (--json lists them all)`);
  });
});
