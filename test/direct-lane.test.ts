import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';

/*
 * The direct lane in real replica processes: one with it (the default), one started with
 * --no-direct-lane, fed by one master. Whatever a reader sends, both must answer with the same
 * bytes but for the Date line: the lane is a faster way to the same answers, never other ones.
 */

const FILES: Record<string, string> = {
  'small.txt': 'small bytes\n',
  'site/app.js': `console.log(${JSON.stringify('x'.repeat(4000))});\n`,
  'site/index.html': '<h1>site</h1>\n',
  'data.bin': 'd'.repeat(100 * 1024),
};

/** Sends `bytes` on a new connection and reads until the replica closes it. */
async function exchange(url: string, bytes: string): Promise<string> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  const closed = once(socket, 'close');
  socket.write(Buffer.from(bytes, 'latin1'));
  await closed;
  return Buffer.concat(got).toString('latin1');
}

const sansDate = (bytes: string) => bytes.replace(/\r\nDate: [^\r]*\r\n/g, '\r\nDate: -\r\n');
const req = (method: string, target: string, fields = '') =>
  `${method} ${target} HTTP/1.1\r\nHost: replica.example\r\n${fields}\r\n`;

describe('the direct lane of a replica', () => {
  let fleet: Fleet;
  let lane: string;
  let plain: string;

  beforeAll(async () => {
    fleet = await Fleet.start({
      files: FILES,
      replicas: [
        { name: 'uk-lane', region: 'uk' },
        { name: 'uk-plain', region: 'uk', args: ['--no-direct-lane'] },
      ],
    });
    await fleet.expectConverged();
    lane = fleet.replica('uk-lane').url;
    plain = fleet.replica('uk-plain').url;
    // Coded copies are made in the background, once asked for: both replicas hold theirs
    // before any answer is compared, or one would answer coded and the other not yet.
    const deadline = Date.now() + 10_000;
    for (const url of [lane, plain]) {
      while (
        !(
          await exchange(url, req('GET', '/site/app.js', 'Accept-Encoding: gzip\r\nConnection: close\r\n'))
        ).includes('content-encoding: gzip')
      ) {
        if (Date.now() > deadline) throw new Error(`${url} made no gzip copy of site/app.js within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  it('is on by default, and off with --no-direct-lane', () => {
    const listening = (name: string) =>
      fleet.replica(name).logs.find((l) => l.msg === 'outpost replica listening');
    expect(listening('uk-lane')?.directLane).toBe(true);
    expect(listening('uk-plain')?.directLane).toBe(false);
  });

  // The replica's name is in every answer: each side's bytes are compared with it made alike.
  const alike = (bytes: string, name: string) => sansDate(bytes).replaceAll(name, 'NAME');

  const gzip = 'Accept-Encoding: gzip\r\n';
  const pipelines: [string, string][] = [
    [
      'GETs and HEADs kept alive, then a close',
      req('GET', '/small.txt?v=2') +
        req('HEAD', '/data.bin') +
        req('GET', '/data.bin') +
        req('GET', '/small.txt', 'Connection: close\r\n'),
    ],
    [
      'a revalidation, a miss, a redirect, an index, a range',
      req('GET', '/small.txt', 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n') +
        req('GET', '/nope') +
        req('GET', '/site') +
        req('GET', '/site/') +
        req('GET', '/data.bin', 'Range: bytes=0-9\r\nConnection: close\r\n'),
    ],
    [
      'a compressible file, asked for with and without gzip',
      req('GET', '/site/app.js', gzip) +
        req('GET', '/site/app.js') +
        req('HEAD', '/site/app.js', `${gzip}Connection: close\r\n`),
    ],
    [
      "the replica's own endpoint, then content",
      req('GET', '/_outpost/healthz') + req('GET', '/small.txt', 'Connection: close\r\n'),
    ],
    [
      'a smuggling shape first',
      req('GET', '/small.txt', 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n') +
        req('GET', '/small.txt'),
    ],
  ];
  it.each(pipelines)('answers as node:http does: %s', async (_what, bytes) => {
    const [a, b] = await Promise.all([exchange(lane, bytes), exchange(plain, bytes)]);
    expect(a).toMatch(/^HTTP\/1\.1 /);
    expect(alike(a, 'uk-lane')).toBe(alike(b, 'uk-plain'));
  });

  it('serves the new version at once when one lands', async () => {
    const before = await exchange(lane, req('GET', '/small.txt', 'Connection: close\r\n'));
    fleet.write('small.txt', 'new small bytes\n');
    await fleet.expectConverged();
    const after = await exchange(lane, req('GET', '/small.txt', 'Connection: close\r\n'));
    const version = (bytes: string) => Number(/x-outpost-version: (\d+)/.exec(bytes)?.[1]);
    expect(version(after)).toBeGreaterThan(version(before));
    expect(after.endsWith('\r\n\r\nnew small bytes\n')).toBe(true);
  });
});
