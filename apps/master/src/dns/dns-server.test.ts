import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { buildZoneView, Responder } from '@outpost/dns';
import { createLogger } from '@outpost/service';
import dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsServer } from './dns-server.js';

const ROOT = 'a'.repeat(64);
const viewOf = (mode: 'all' | 'one', ips = ['127.0.0.2', '127.0.0.3']) =>
  buildZoneView(
    { zone: 'corp.example', ttl: 5, mode, maxLag: 0, heartbeatMs: 1000, fallback: {}, nsAddress: null },
    {
      latest: { version: 1, root: ROOT },
      createdAt: () => 0,
      now: Date.now(),
      replicas: ips.map((ip, i) => ({
        name: `uk-${i}`,
        region: 'uk',
        connected: true,
        link: 'push' as const,
        version: 1,
        root: ROOT,
        lastSeenAt: Date.now(),
        error: null,
        advertise: ip,
        load: null,
      })),
    },
  );
const view = viewOf('all');

const HAVE_DIG = (() => {
  try {
    execFileSync('dig', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const q = (id: number, name = 'uk.corp.example') =>
  dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });
const framed = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);

/** Reads length-framed messages off a socket until `n` have come or it closes. */
function readFrames(s: Socket, n: number): Promise<{ frames: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const frames: Buffer[] = [];
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        frames.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (frames.length >= n) resolve({ frames, closed: false });
    });
    s.on('close', () => resolve({ frames, closed: true }));
    s.on('error', () => {});
  });
}

describe('DnsServer', () => {
  let server: DnsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(
    o: { maxTcpConnections?: number; maxTcpPerClient?: number; tcpIdleMs?: number; view?: typeof view } = {},
  ) {
    const { view: given, ...limits } = o;
    const v = given ?? view;
    server = new DnsServer({
      host: '127.0.0.1',
      port: 0,
      responder: new Responder(),
      view: () => v,
      log: createLogger('test', 'silent'),
      ...limits,
    });
    const { udp, tcp } = await server.start();
    expect(udp).toBe(tcp);
    return Number(udp.split(':')[1]);
  }

  it('answers over UDP and over TCP on the same port', async () => {
    const port = await start();
    const sock = createSocket('udp4');
    const res = await new Promise<Buffer>((resolve) => {
      sock.on('message', resolve);
      sock.send(q(7), port, '127.0.0.1');
    });
    sock.close();
    expect((dnsPacket.decode(res) as any).answers.map((a: any) => a.data).sort()).toEqual([
      '127.0.0.2',
      '127.0.0.3',
    ]);

    const s = connect(port, '127.0.0.1');
    const got = readFrames(s, 1);
    s.write(framed(q(8)));
    const { frames } = await got;
    expect(dnsPacket.decode(frames[0]!).id).toBe(8);
    s.destroy();
  });

  it('fails to start on a port in use without logging it: the caller says it, once', async () => {
    const port = await start();
    const warned: unknown[] = [];
    const log = { warn: (...a: unknown[]) => warned.push(a) } as unknown as Logger;
    for (const taken of ['udp', 'tcp'] as const) {
      // UDP taken by the server above; TCP alone by a listener on a port whose UDP is free.
      const held = taken === 'udp' ? null : createServer();
      const p = held
        ? await new Promise<number>((r) =>
            held.listen(0, '127.0.0.1', () => r((held.address() as AddressInfo).port)),
          )
        : port;
      const second = new DnsServer({
        host: '127.0.0.1',
        port: p,
        responder: new Responder(),
        view: () => view,
        log,
      });
      await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE', port: p });
      expect(second.counters).toMatchObject({ udpErrors: 0, tcpErrors: 0 });
      await second.close();
      held?.close();
    }
    expect(warned).toEqual([]);
  });

  it('answers pipelined TCP queries in order, whatever the segmenting', async () => {
    const port = await start();
    const s = connect(port, '127.0.0.1');
    const got = readFrames(s, 3);
    const bytes = Buffer.concat([framed(q(1)), framed(q(2)), framed(q(3, 'nowhere.corp.example'))]);
    // One byte at a time for the first query's head, then the rest at once.
    for (let i = 0; i < 5; i++) s.write(bytes.subarray(i, i + 1));
    s.write(bytes.subarray(5));
    const { frames } = await got;
    expect(frames.map((f) => f.readUInt16BE(0))).toEqual([1, 2, 3]);
    expect(frames[2]!.readUInt16BE(2) & 0xf).toBe(3); // NXDOMAIN
    s.destroy();
  });

  it('stops answering a TCP client that pipelines queries but does not read the answers', async () => {
    // 4,000 replicas: each answer over TCP is 64 KB, and 200 queries would be 13 MB held.
    const ips = Array.from({ length: 4000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    const responder = new Responder();
    const v = viewOf('all', ips);
    server = new DnsServer({
      host: '127.0.0.1',
      port: 0,
      responder,
      view: () => v,
      log: createLogger('test', 'silent'),
    });
    const port = Number((await server.start()).tcp.split(':')[1]);
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.pause();
    s.write(Buffer.concat(Array.from({ length: 200 }, (_, i) => framed(q(i, 'corp.example')))));
    // Answered until the kernel's buffers are full (4 MB here: 64 answers), then nothing more.
    let seen = -1;
    const deadline = Date.now() + 10_000;
    while (responder.counters.queries !== seen) {
      seen = responder.counters.queries;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(150);
    // Once it reads, the rest are answered, in order.
    const got = readFrames(s, 200);
    s.resume();
    const { frames } = await got;
    expect(frames.map((f) => f.readUInt16BE(0))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    s.destroy();
  });

  it('closes a TCP connection that sends something that is not a query, and idle ones', async () => {
    const port = await start({ tcpIdleMs: 200 });
    const garbage = connect(port, '127.0.0.1');
    const g = readFrames(garbage, 1);
    garbage.write(framed(Buffer.from('hello')));
    expect(await g).toEqual({ frames: [], closed: true });

    const idle = connect(port, '127.0.0.1');
    expect((await readFrames(idle, 1)).closed).toBe(true);
  });

  it('closes a TCP connection that sends a query a byte at a time, never idle but never done (slowloris)', async () => {
    const port = await start({ tcpIdleMs: 400 });
    const slow = connect(port, '127.0.0.1');
    const read = readFrames(slow, 1);
    const bytes = framed(q(9));
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < bytes.length && !slow.destroyed) slow.write(bytes.subarray(sent, ++sent));
    }, 100);
    const started = Date.now();
    try {
      expect(await read).toEqual({ frames: [], closed: true });
      // Closed once the message was 400 ms in the making, long before its last byte.
      expect(sent).toBeLessThan(bytes.length);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      clearInterval(drip);
    }
    // A whole query sent at once is answered as ever.
    const quick = connect(port, '127.0.0.1');
    const answered = readFrames(quick, 1);
    quick.write(bytes);
    expect((await answered).frames).toHaveLength(1);
    quick.destroy();
  });

  it('refuses TCP connections over its limit, and keeps serving UDP', async () => {
    const port = await start({ maxTcpConnections: 2 });
    const held = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const third = connect(port, '127.0.0.1');
    expect((await readFrames(third, 1)).closed).toBe(true);
    expect(server!.counters.tcpRefused).toBe(1);
    for (const s of held) s.destroy();
  });

  it('holds at most maxTcpPerClient connections per address, so one client cannot lock the others out', async () => {
    const port = await start({ maxTcpConnections: 10, maxTcpPerClient: 2, tcpIdleMs: 60_000 });
    const opened = (localAddress: string) => {
      const s = connect({ port, host: '127.0.0.1', localAddress });
      return new Promise<Socket>((r) => s.once('connect', () => r(s)));
    };
    const held = [await opened('127.0.0.1'), await opened('127.0.0.1')];
    const frames = (s: Socket) => readFrames(s, 1);
    const hog = await opened('127.0.0.1');
    expect((await frames(hog)).closed).toBe(true);
    expect(server!.counters.tcpRefused).toBe(1);
    // Another address still gets answers.
    const other = await opened('127.0.0.2');
    const got = frames(other);
    other.write(framed(q(11)));
    expect(dnsPacket.decode((await got).frames[0]!).id).toBe(11);
    other.destroy();
    // Once one of its connections closes, the first address may open another.
    held[0]!.destroy();
    const deadline = Date.now() + 5000;
    for (;;) {
      const again = await opened('127.0.0.1');
      const answer = frames(again);
      again.write(framed(q(12)));
      const { frames: f } = await answer;
      again.destroy();
      if (f.length === 1) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
    }
    held[1]!.destroy();
  });

  it.skipIf(!HAVE_DIG)('answers 16 replicas in full to dig without EDNS, names compressed', async () => {
    const ips = Array.from({ length: 16 }, (_, i) => `10.1.0.${i + 1}`);
    const port = await start({ view: viewOf('all', ips) });
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'dig',
        [
          '@127.0.0.1',
          '-p',
          String(port),
          'UK.corp.EXAMPLE',
          'A',
          '+noedns',
          '+notcp',
          '+ignore',
          '+tries=1',
          '+time=2',
        ],
        { timeout: 10_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/;; flags: qr aa rd;/);
    const answered = [...out.matchAll(/^UK\.corp\.EXAMPLE\.\s+5\s+IN\s+A\s+(\S+)$/gm)].map((m) => m[1]);
    expect(answered.sort()).toEqual([...ips].sort());
    expect(out).toMatch(/MSG SIZE {2}rcvd: 289/);
  });

  it('in mode one answers a single record per query, spread evenly, over real UDP', async () => {
    const port = await start({ view: viewOf('one', ['127.0.0.2', '127.0.0.3', '127.0.0.4']) });
    const sock = createSocket('udp4');
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const res = await new Promise<Buffer>((resolve) => {
        sock.once('message', resolve);
        sock.send(q(i), port, '127.0.0.1');
      });
      const answers = (dnsPacket.decode(res) as any).answers;
      expect(answers).toHaveLength(1);
      counts[answers[0].data] = (counts[answers[0].data] ?? 0) + 1;
    }
    sock.close();
    expect(counts).toEqual({ '127.0.0.2': 100, '127.0.0.3': 100, '127.0.0.4': 100 });
  });
});
