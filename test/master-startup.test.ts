import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MasterStatus, MasterStatusSchema } from '@outpost/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { get, getJson } from './helpers/http.js';
import { type Service, startMaster } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/** Enough files that crawling and publishing them takes a second or more, not milliseconds. */
const FILES = 20_000;

describe('master start over a large tree', () => {
  let dir: string | undefined;
  let master: Service | undefined;
  afterEach(async () => {
    await master?.stop();
    master = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('answers status, and says it is not ready, while it publishes the tree; then is ready', async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-startup-'));
    const content = join(dir, 'content');
    for (let i = 0; i < FILES; i++) {
      const sub = join(content, `d${Math.floor(i / 200)}`);
      if (i % 200 === 0) mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
    }
    master = await startMaster({
      content,
      data: join(dir, 'data'),
      readyLine: 'outpost master accepting connections; reconciling the content directory',
    });

    // Listening before the crawl and the publish: not ready, but status answers.
    const early = await get(`${master.url}/_outpost/readyz`);
    expect(early.status).toBe(503);
    expect(JSON.parse(early.body.toString()).detail).toMatch(/initial scan/);
    const first = MasterStatusSchema.parse(await getJson(`${master.url}/_outpost/api/v1/status`));
    expect(first).toMatchObject({ ready: false, version: 0, files: 0 });

    // The publish of the whole tree is visible as it goes.
    const seen: NonNullable<MasterStatus['publishing']>[] = [];
    await waitFor(
      async () => {
        const s = MasterStatusSchema.parse(await getJson(`${master!.url}/_outpost/api/v1/status`));
        if (s.publishing) seen.push(s.publishing);
        return s.ready;
      },
      { timeoutMs: 120_000, intervalMs: 20, what: 'the master to be ready' },
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p.filesTotal === FILES && p.filesDone <= FILES)).toBe(true);

    const done = MasterStatusSchema.parse(await getJson(`${master.url}/_outpost/api/v1/status`));
    expect(done).toMatchObject({ ready: true, version: 1, files: FILES, publishing: null });
    expect((await get(`${master.url}/_outpost/readyz`)).status).toBe(200);
    // The line scripts wait for still means "published": it comes after, with version 1.
    const lines = master.logs.map((l) => l.msg);
    expect(lines.indexOf('outpost master listening')).toBeGreaterThan(
      lines.indexOf('outpost master accepting connections; reconciling the content directory'),
    );
    expect(master.logs.find((l) => l.msg === 'outpost master listening')?.version).toBe(1);
  }, 180_000);
});
