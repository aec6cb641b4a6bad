/**
 * Small edits made while the master reads a large file: how long each takes from its rename
 * into the content directory until the replica serves it, and when the large file itself is
 * served. A master and one replica on 127.0.0.1 through the real CLI, default flags.
 *
 * The large file (sparse by default, or random bytes with --random) is written beside the
 * content directory, dated back and renamed in at t = 0; from then on a small file is renamed
 * in every --every-ms, each measured on its own, until the large file is served and at least
 * --edits edits are done. The replica reaches the master through a TCP meter: the bytes its
 * link carried from the move in to the end are printed, as a ratio to the large file.
 *
 *   pnpm bench:beside-large [--size-mib 1024] [--random] [--every-ms 1000] [--edits 5]
 */
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from '../../test/helpers/free-port.js';
import {
  fmtBytes,
  fmtMs,
  masterArgs,
  onCleanup,
  percentile,
  replicaArgs,
  runMain,
  startOutpost,
  tempDir,
  until,
} from './lib.js';
import { startTcpMeter } from './tcp-meter.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    random: { type: 'boolean', default: false },
    'every-ms': { type: 'string', default: '1000' },
    edits: { type: 'string', default: '5' },
  },
});
const sizeMiB = Number(values['size-mib']);
const everyMs = Number(values['every-ms']);
const minEdits = Number(values.edits);
const agent = new Agent({ connections: 8, pipelining: 1 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET status and body (as text, or only its length when `lengthOnly`). */
async function fetchText(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url, { dispatcher: agent });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Writes the large file at `path`: a hole of `bytes`, or random bytes 8 MiB at a time. */
function writeLarge(path: string, bytes: number, random: boolean) {
  const fd = openSync(path, 'w');
  try {
    if (!random) ftruncateSync(fd, bytes);
    else {
      const block = Buffer.alloc(8 * 1024 * 1024);
      for (let done = 0; done < bytes; done += block.length) {
        for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
        writeFileSync(fd, block.subarray(0, Math.min(block.length, bytes - done)));
      }
    }
  } finally {
    closeSync(fd);
  }
  const past = new Date(Date.now() - 60_000);
  utimesSync(path, past, past);
}

async function main() {
  const root = tempDir('outpost-beside-large-');
  const content = join(root, 'content');
  const staging = join(root, 'staging');
  mkdirSync(content, { recursive: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(content, 'seed.txt'), 'seed\n');
  const master = await startOutpost(masterArgs(content, join(root, 'master'), await freePort()), {
    ready: 'outpost master listening',
  });
  onCleanup(() => master.stop());
  // The replica's link goes through a meter: the bytes the large file and the edits cost.
  const meter = await startTcpMeter(Number(new URL(master.url).port));
  onCleanup(() => meter.close());
  const replica = await startOutpost(replicaArgs('uk-london', 'uk', meter.url, join(root, 'uk-london')), {
    ready: 'outpost replica listening',
  });
  onCleanup(() => replica.stop());
  await until(
    async () => (await fetchText(`${replica.url}/seed.txt`)).status === 200,
    'seed.txt served',
    30_000,
  );

  const bytes = sizeMiB * 1024 * 1024;
  console.log(
    `writing a ${sizeMiB} MiB ${values.random ? 'random' : 'sparse'} file beside the content directory…`,
  );
  writeLarge(join(staging, 'large.bin'), bytes, values.random);
  for (let i = 0; i < 1000; i++) writeFileSync(join(staging, `edit-${i}.txt`), `edit ${i}\n`);

  meter.reset();
  const t0 = performance.now();
  renameSync(join(staging, 'large.bin'), join(content, 'large.bin'));
  let largeAt = Number.NaN;
  const large = (async () => {
    for (;;) {
      const res = await request(`${replica.url}/large.bin`, { method: 'HEAD', dispatcher: agent });
      await res.body.dump();
      if (res.statusCode === 200 && Number(res.headers['content-length']) === bytes) {
        largeAt = performance.now() - t0;
        return;
      }
      if (performance.now() - t0 > 600_000) throw new Error('the large file was never served');
      await sleep(20);
    }
  })();

  const edits: { startedAt: number; ms: number }[] = [];
  const running: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) {
    await sleep(i === 0 ? 100 : everyMs);
    if (!Number.isNaN(largeAt) && i >= minEdits) break;
    const name = `edit-${i}.txt`;
    const startedAt = performance.now();
    renameSync(join(staging, name), join(content, name));
    running.push(
      (async () => {
        await until(
          async () => (await fetchText(`${replica.url}/${name}`)).text === `edit ${i}\n`,
          `${name} served`,
          600_000,
          2,
        );
        edits.push({ startedAt: startedAt - t0, ms: performance.now() - startedAt });
        process.stdout.write('.');
      })(),
    );
  }
  await Promise.all(running);
  await large;
  const wire = meter.read();
  process.stdout.write('\n');
  edits.sort((a, b) => a.startedAt - b.startedAt);
  const during = edits.filter((e) => e.startedAt < largeAt).map((e) => e.ms);
  const all = edits.map((e) => e.ms);
  const first = edits[0]!;
  console.log(`large file (${sizeMiB} MiB) served at ${fmtMs(largeAt)} after it was moved in`);
  console.log(
    `first small edit (made at ${fmtMs(first.startedAt)}) served after ${fmtMs(first.ms)} (at ${fmtMs(first.startedAt + first.ms)})`,
  );
  const line = (what: string, ms: number[]) =>
    ms.length === 0
      ? `${what}: none`
      : `${what}: ${ms.length} edits, p50 ${fmtMs(percentile(ms, 50))} (min ${fmtMs(Math.min(...ms))}, max ${fmtMs(Math.max(...ms))})`;
  console.log(
    `each edit (made at → served after): ${edits.map((e) => `${fmtMs(e.startedAt)} → ${fmtMs(e.ms)}`).join(', ')}`,
  );
  console.log(line('edits made while the large file was read', during));
  console.log(line('all edits', all));
  console.log(
    `bytes on the replica's link from the move in to the end: ${fmtBytes(wire.down)} to the replica, ${fmtBytes(wire.up)} from it ` +
      `(${(wire.down / bytes).toFixed(3)}× the large file)`,
  );
}

runMain(main);
