import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MasterStatus, MasterStatusSchema } from '@outpost/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { get, getJson } from './helpers/http.js';
import { runCli, type Service, startMaster } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/** Enough files that crawling and publishing them takes a second or more, not milliseconds. */
const FILES = 20_000;

/** A content directory of FILES small files under `dir`. */
function writeTree(dir: string): string {
  const content = join(dir, 'content');
  for (let i = 0; i < FILES; i++) {
    const sub = join(content, `d${Math.floor(i / 200)}`);
    if (i % 200 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  return content;
}

const BOUND = 'outpost master accepting connections; reconciling the content directory';

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
    const content = writeTree(dir);
    master = await startMaster({ content, data: join(dir, 'data'), readyLine: BOUND });

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
    // The line scripts wait for still means "published": it comes after, with version 1. (It
    // is logged as the master turns ready, and may reach this pipe after the status answer.)
    await waitFor(() => master!.logs.some((l) => l.msg === 'outpost master listening'), {
      what: 'the listening line',
    });
    const lines = master.logs.map((l) => l.msg);
    expect(lines.indexOf('outpost master listening')).toBeGreaterThan(
      lines.indexOf('outpost master accepting connections; reconciling the content directory'),
    );
    expect(master.logs.find((l) => l.msg === 'outpost master listening')?.version).toBe(1);
  }, 180_000);

  it('stops cleanly when told to mid-publish, and the next start publishes the tree whole', async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-startup-'));
    const content = writeTree(dir);
    const data = join(dir, 'data');
    master = await startMaster({ content, data, readyLine: BOUND });
    await waitFor(
      async () =>
        (MasterStatusSchema.parse(await getJson(`${master!.url}/_outpost/api/v1/status`)).publishing
          ?.filesDone ?? 0) > 0,
      { timeoutMs: 60_000, intervalMs: 10, what: 'the publish to be under way' },
    );
    // 'close', not 'exit': by then every line it wrote has been read into `logs`.
    const exited = new Promise<number | null>((r) => master!.proc.once('close', (code) => r(code)));
    master.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const msgs = master.logs.map((l) => l.msg);
    expect(msgs).toContain('publishing stopped before its version was cut');
    expect(msgs).not.toContain('outpost master listening');
    expect(master.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);

    // Nothing of the cut-short publish shows; the next start sweeps it and publishes all.
    master = await startMaster({ content, data });
    const s = MasterStatusSchema.parse(await getJson(`${master.url}/_outpost/api/v1/status`));
    expect(s).toMatchObject({ ready: true, version: 1, files: FILES });
  }, 180_000);

  it('refuses a --data inside --content, which would publish its own store: exit 2', async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-startup-'));
    const content = join(dir, 'site');
    mkdirSync(content);
    writeFileSync(join(content, 'index.html'), 'hi\n');
    for (const data of [join(content, '.outpost'), content]) {
      const r = await runCli(['master', '--content', content, '--data', data, '--port', '0']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        `outpost: --data ${data} is inside --content ${content}: the master would publish its own store; keep the store elsewhere`,
      );
    }
  });

  it('refuses, at a first start, a content directory that is not there: exit 2, and which', async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-startup-'));
    const missing = join(dir, 'contnet');
    const r = await runCli(['master', '--content', missing, '--data', join(dir, 'data'), '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `outpost: --content ${missing}: no such directory (a master that has never published starts only on a directory that exists)`,
    );
    // A file where the directory should be is said as such.
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const onFile = await runCli(['master', '--content', file, '--data', join(dir, 'data2'), '--port', '0']);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr.trim()).toBe(
      `outpost: --content ${file}: not a directory (a master that has never published starts only on a directory that exists)`,
    );
    // A master that has published starts without it, serves what it holds, and says why it cannot publish.
    const content = join(dir, 'content');
    mkdirSync(content);
    writeFileSync(join(content, 'a.txt'), 'a\n');
    master = await startMaster({ content, data: join(dir, 'data') });
    await master.stop();
    rmSync(content, { recursive: true });
    master = await startMaster({ content, data: join(dir, 'data'), readyLine: BOUND });
    const m = master;
    const s = await waitFor(
      async () => MasterStatusSchema.parse(await getJson(`${m.url}/_outpost/api/v1/status`)),
      { what: 'status' },
    );
    expect(s.version).toBe(1);
    await waitFor(
      async () =>
        MasterStatusSchema.parse(
          await getJson(`${m.url}/_outpost/api/v1/status`),
        ).publishFailure?.message.includes('is gone'),
      { what: 'the reason it cannot publish' },
    );
  });
});
