import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { getJson } from './helpers/http.js';
import { cpuSeconds } from './helpers/process-cpu.js';
import { waitFor } from './helpers/wait-for.js';

describe('a file edited again and again in a folder of many files', () => {
  let fleet: Fleet | undefined;
  afterAll(() => fleet?.stop());

  it('costs the master the file, not the folder listed again at each edit', async () => {
    // chokidar listed and stat'ed the whole folder at each event: a log appended every 20 ms
    // beside 5,000 files took a whole core (6.2 s of CPU in 6 s; 0.3 s now).
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`logs/f${i}.txt`] = `file ${i}\n`;
    const f = await Fleet.start({ files });
    fleet = f;
    await f.masterCaughtUp(60_000);
    const pid = f.master.proc.pid!;
    const before = cpuSeconds(pid);
    const started = Date.now();
    let lines = 0;
    while (Date.now() - started < 3000) {
      appendFileSync(join(f.content, 'logs/f1.txt'), `line ${++lines}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The last append is published: the edits were seen.
    const want = readFileSync(join(f.content, 'logs/f1.txt')).length;
    await waitFor(
      async () => {
        const s = await f.masterStatus();
        const v = await getJson(`${f.master.url}/_outpost/api/v1/versions/${s.version}`);
        return v.entries.find((e: { path: string }) => e.path === 'logs/f1.txt')?.size === want;
      },
      { what: 'the last append to be published' },
    );
    expect(cpuSeconds(pid) - before).toBeLessThan(2);
  }, 120_000);
});
