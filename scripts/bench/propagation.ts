/**
 * How long a small file takes from its rename into the master's content dir until every
 * replica serves it: a master and two replicas on 127.0.0.1, N samples, percentiles.
 *
 *   pnpm bench:propagation [--samples 20]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startMaster, startReplica, tempDir } from '../../test/helpers/services.js';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '20' } } });
const samples = Number(values.samples);
const agent = new Agent({ connections: 4, pipelining: 1 });

async function serves(url: string): Promise<boolean> {
  const res = await request(url, { dispatcher: agent });
  await res.body.dump();
  return res.statusCode === 200;
}

/** Polls until the URL answers 200; returns when it did (ms since `t0`). */
async function until200(url: string, t0: number, deadlineMs = 10_000): Promise<number> {
  for (;;) {
    if (await serves(url)) return performance.now() - t0;
    if (performance.now() - t0 > deadlineMs) throw new Error(`${url} never appeared`);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const dir = tempDir('outpost-bench-prop-');
  const content = join(dir.path, 'content');
  const staging = join(dir.path, 'staging');
  mkdirSync(content, { recursive: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(content, 'seed.txt'), 'seed\n');
  const env = { OUTPOST_LOG_LEVEL: 'info' };
  const master = await startMaster({ content, data: join(dir.path, 'm'), env });
  const replicas = await Promise.all(
    ['uk-london', 'asia-tokyo'].map((name, i) =>
      startReplica({ name, region: ['uk', 'asia'][i]!, master: master.url, data: join(dir.path, name), env }),
    ),
  );
  try {
    for (const r of replicas) await until200(`${r.url}/seed.txt`, performance.now());
    // The files exist before they are moved in, as when a finished file is dropped into place.
    for (let i = 0; i < samples; i++) writeFileSync(join(staging, `note-${i}.txt`), `note ${i}\n`);
    await new Promise((r) => setTimeout(r, 200));
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const name = `note-${i}.txt`;
      const t0 = performance.now();
      renameSync(join(staging, name), join(content, name));
      const each = await Promise.all(replicas.map((r) => until200(`${r.url}/${name}`, t0)));
      times.push(Math.max(...each));
      // Let the fleet go quiet so each sample is a lone change, not part of a burst.
      await new Promise((r) => setTimeout(r, 100));
    }
    const sorted = [...times].sort((a, b) => a - b);
    const row = (label: string, v: number) => `| ${label.padEnd(6)} | ${v.toFixed(1).padStart(8)} |`;
    console.log(`\nrename into content dir → served by both replicas (${samples} samples, ms)\n`);
    console.log('| stat   |       ms |\n|--------|----------|');
    for (const [label, p] of [
      ['p50', 50],
      ['p95', 95],
      ['p99', 99],
    ] as const)
      console.log(row(label, percentile(sorted, p)));
    console.log(row('min', sorted[0]!));
    console.log(row('max', sorted.at(-1)!));
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await master.stop();
    await agent.close();
    dir.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
