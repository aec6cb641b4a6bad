import { createCipheriv, createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { getJson } from './helpers/http.js';
import { startNoWebSocketProxy } from './helpers/no-websocket-proxy.js';
import { waitFor } from './helpers/wait-for.js';

const SIZE = 24 * 1024 * 1024;
/**
 * The most a stop with --drain-ms 500 may take: the drain, then the shutdown, which a busy CI
 * machine slows. Under the 10 s default --drain-ms, so it still tells that the flag was used.
 */
const STOP_MS = 8_000;

function noise(n: number): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/**
 * GETs a path on a raw socket, pausing `pace` ms after each piece read; a stalled reader
 * (`pace` null) reads nothing until told to `drain()`, the rest of what came.
 */
function download(url: string, path: string, pace: number | null) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  const pieces: Buffer[] = [];
  let bytes = 0;
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const ended = new Promise<Buffer>((resolve) => socket.once('close', () => resolve(Buffer.concat(pieces))));
  const read = (paced: boolean) =>
    socket.on('data', (d: Buffer) => {
      pieces.push(d);
      bytes += d.length;
      if (!paced || pace === null) return;
      socket.pause();
      setTimeout(() => socket.resume(), pace);
    });
  if (pace === null) socket.pause();
  else read(true);
  return { socket, ended, bytes: () => bytes, drain: () => read(false).resume() };
}

/** The body of a raw response with a Content-Length, or null when it was cut short. */
function bodyOf(raw: Buffer): Buffer | null {
  const end = raw.indexOf('\r\n\r\n');
  const length = Number(/content-length: (\d+)/i.exec(raw.subarray(0, end).toString('latin1'))?.[1]);
  const body = raw.subarray(end + 4);
  return body.length === length ? body : null;
}

describe('a replica told to stop (SIGTERM)', () => {
  let fleet: Fleet | undefined;
  let closeProxy: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
    await closeProxy?.();
    closeProxy = undefined;
  });

  it('lets a download in flight finish, and cuts one that stalls once --drain-ms is up', async () => {
    const big = noise(SIZE);
    const f = await Fleet.start({
      files: { 'big.bin': big },
      replicas: [
        { name: 'uk-london', region: 'uk', args: ['--drain-ms', '60000'] },
        { name: 'asia-tokyo', region: 'asia', args: ['--drain-ms', '500'] },
      ],
    });
    fleet = f;
    await f.expectConverged();

    // A reader that keeps reading, if slowly: it gets every byte, though the stop comes first.
    const steady = download(f.replica('uk-london').url, '/big.bin', 5);
    await waitFor(() => steady.bytes() > 1024 * 1024, { what: 'the download to be under way' });
    const stoppedAt = Date.now();
    await f.replica('uk-london').stop();
    const body = bodyOf(await steady.ended);
    expect(body, 'the whole body').not.toBeNull();
    expect(createHash('sha256').update(body!).digest('hex')).toBe(
      createHash('sha256').update(big).digest('hex'),
    );
    expect(Date.now() - stoppedAt).toBeLessThan(55_000);

    // A reader that stopped reading holds the stop up for --drain-ms, not for ever.
    const stalled = download(f.replica('asia-tokyo').url, '/big.bin', null);
    const replica = f.replica('asia-tokyo');
    // The answer has begun (its first bytes wait unread): the stop must not come before the request.
    await new Promise((r) => stalled.socket.once('readable', r));
    const t0 = Date.now();
    await replica.stop();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(STOP_MS);
    expect(replica.logs.some((l) => l.msg === 'stopping: cutting the responses still in flight')).toBe(true);
    // What the kernel had buffered still arrives; the rest never does.
    stalled.drain();
    expect(bodyOf(await stalled.ended)).toBeNull();
    f.replicas.clear();
  });

  it('ends keep-alive connections with their response in flight, so readers asking on and on do not hold the stop', async () => {
    const f = await Fleet.start({
      // A file the direct lane answers, and one node:http does (over 256 KiB).
      files: { 'small.txt': 'small\n', 'mid.bin': noise(512 * 1024) },
      replicas: [{ name: 'uk-london', region: 'uk' }],
    });
    fleet = f;
    await f.expectConverged();
    const replica = f.replica('uk-london');
    const agent = new Agent({ keepAliveTimeout: 60_000, connections: 4 });
    let answers = 0;
    let done = false;
    /** Requests that failed otherwise than refused: cut by the stop. */
    const cut: string[] = [];
    const reader = async (path: string) => {
      while (!done) {
        try {
          const res = await request(`${replica.url}${path}`, { dispatcher: agent });
          await res.body.arrayBuffer();
          answers++;
        } catch (err) {
          // Refused once the replica no longer listens: what readers of a stopping replica get.
          const code = (err as { code?: string }).code ?? String(err);
          if (code !== 'ECONNREFUSED') cut.push(code);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const readers = [reader('/small.txt'), reader('/mid.bin'), reader('/small.txt'), reader('/mid.bin')];
    await waitFor(() => answers > 50, { what: 'the readers to be under way' });
    const stopAt = Date.now();
    await replica.stop();
    const took = Date.now() - stopAt;
    done = true;
    await Promise.all(readers);
    await agent.close();
    // The default --drain-ms is 10 s, and nothing is cut: each connection ended with its answer
    // (they had been answered on until the drain was up, then cut: 10 s).
    expect(took).toBeLessThan(5_000);
    expect(replica.logs.some((l) => l.msg === 'stopping: cutting the responses still in flight')).toBe(false);
    // Fewer than one a reader: each connection ends with an answer saying close; what a reader
    // asks on a new connection the kernel took as the listener closed is reset, as by nginx.
    expect(cut.length).toBeLessThanOrEqual(8);
    f.replicas.clear();
  });

  it('stops at once in the middle of a pull paced by --max-rate, and the next start carries on', async () => {
    // 1 MiB at 8 KiB/s is two minutes: a stop that waited for the pulled version to be applied
    // held the process (and its store) that long, past --drain-ms.
    const slow = noise(1024 * 1024);
    const f = await Fleet.start({ files: { 'slow.bin': slow } });
    fleet = f;
    await f.masterCaughtUp();
    // Behind a proxy that refuses WebSockets: the replica pulls.
    const proxy = await startNoWebSocketProxy(f.master.url);
    closeProxy = proxy.close;
    const replica = await f.startReplica('uk-london', 'uk', {
      master: proxy.url,
      args: ['--max-rate', '8k', '--drain-ms', '500'],
    });
    await waitFor(
      async () => (await getJson(`${replica.url}/_outpost/api/v1/status`)).applying?.bytesDone > 16 * 1024,
      { what: 'the paced fetch to be under way' },
    );
    const t0 = Date.now();
    await replica.stop();
    expect(Date.now() - t0).toBeLessThan(STOP_MS);
    f.replicas.clear();
    // The store was left whole: started again without the cap, it syncs and serves the file.
    const again = await f.startReplica('uk-london', 'uk');
    await f.expectConverged(['uk-london']);
    const res = await fetch(`${again.url}/slow.bin`);
    expect(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(createHash('sha256').update(slow).digest('hex'));
  });

  it('a master, too: a chunk batch whose reader stalled is cut once --drain-ms is up', async () => {
    const f = await Fleet.start({ files: { 'big.bin': noise(SIZE) }, masterArgs: ['--drain-ms', '500'] });
    fleet = f;
    const v = await f.masterCaughtUp();
    const { chunks } = await getJson(`${f.master.url}/_outpost/api/v1/contents/${v.entries[0].hash}`);
    const body = JSON.stringify({ hashes: chunks.map((c: { hash: string }) => c.hash) });
    const { hostname, port } = new URL(f.master.url);
    const socket = connect(Number(port), hostname);
    socket.write(
      `POST /_outpost/api/v1/chunks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // The batch is under way: 24 MiB asked, more than the socket buffers hold.
    await new Promise((r) => socket.once('readable', r));
    const t0 = Date.now();
    await f.master.stop();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(STOP_MS);
    expect(f.master.logs.some((l) => l.msg === 'stopping: cutting the responses still in flight')).toBe(true);
    socket.resume();
    await closed;
  });
});
