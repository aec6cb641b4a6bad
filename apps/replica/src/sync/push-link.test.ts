import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCodes, WS_PATH } from '@outpost/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { PushLink } from './push-link.js';

const ROOT = 'a'.repeat(64);

/** A master that welcomes each link, sends what `after` gives (if anything), then restarts. */
async function fakeMaster(after: (linkNo: number) => string | null) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: WS_PATH });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const opened: number[] = [];
  const closes: { code: number; reason: string }[] = [];
  wss.on('connection', (ws) => {
    const linkNo = opened.push(Date.now()) - 1;
    ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    ws.once('message', () => {
      ws.send(JSON.stringify({ type: 'welcome', protocol: 2, version: 1, root: ROOT }));
      const next = after(linkNo);
      if (next !== null) ws.send(next);
      // A master that restarts after what it sent (one the replica refuses is dropped by it).
      setTimeout(() => ws.close(CloseCodes.goingAway, 'master restarting'), 5);
    });
  });
  const { port } = wss.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, opened, closes, close: () => wss.close() };
}

describe('PushLink', () => {
  let link: PushLink | undefined;
  let master: Awaited<ReturnType<typeof fakeMaster>> | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await link?.stop();
    master?.close();
  });

  const start = (url: string, o: Partial<ConstructorParameters<typeof PushLink>[0]> = {}) => {
    link = new PushLink({
      master: url,
      token: undefined,
      log: pino({ level: 'silent' }),
      heartbeatMs: 60_000,
      reconnectMinMs: 20,
      reconnectMaxMs: 10_000,
      hello: () => ({ protocol: 2, name: 'uk-london', region: 'uk', version: 0, root: ROOT }),
      load: () => ({ requestsPerSecond: 0, openConnections: 0 }),
      onMessage: () => undefined,
      onUp: () => undefined,
      onDown: () => undefined,
      ...o,
    });
    link.start();
  };
  const waitLinks = async (m: { opened: number[] }, n: number) => {
    await vi.waitFor(() => expect(m.opened.length).toBeGreaterThanOrEqual(n), {
      timeout: 10_000,
      interval: 5,
    });
  };
  const gaps = (t: number[]) => t.slice(1).map((x, i) => x - t[i]!);

  it('backs off more and more from a master whose messages it refuses, and says why in the close', async () => {
    // The ceiling of each delay (no jitter): 20 ms, then twice as long at each attempt.
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const bad = JSON.stringify({ type: 'pong', version: -1, root: ROOT });
    master = await fakeMaster(() => bad);
    start(master.url);
    await waitLinks(master, 6);
    const g = gaps(master.opened.slice(0, 6));
    // 20, 40, 80, 160, 320 ms and the time to connect each: the last two alone pass 400 ms
    // (a reset at each welcome kept every one at the first, about 20 ms and the connect).
    expect(g[3]! + g[4]!, `gaps ${g}`).toBeGreaterThanOrEqual(400);
    expect(master.closes[0]).toMatchObject({ code: CloseCodes.badMessage });
    expect(master.closes[0]!.reason).toMatch(/^invalid message: .+/);
    expect(Buffer.byteLength(master.closes[0]!.reason)).toBeLessThanOrEqual(123);
  });

  it('comes back at once after a link that worked, however many came before', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const good = JSON.stringify({ type: 'pong', version: 1, root: ROOT });
    // Four refused links, then links that work, each closed by the master (its restarts).
    master = await fakeMaster((n) => (n < 4 ? '{"type":"nonsense"}' : good));
    start(master.url);
    await waitLinks(master, 8);
    const g = gaps(master.opened.slice(0, 8));
    // After a message taken the backoff starts again from 20 ms, not from 320 and on.
    expect(Math.max(...g.slice(4)), `gaps ${g}`).toBeLessThan(g[3]! / 2);
  });

  it.each([
    [503, /answered the push link's WebSocket upgrade with 503, not 101 \(a proxy in front/],
    // A refused token is the master's answer, not a proxy's.
    [401, /^the master refused the push link's replication token \(401\)/],
  ])('warns of a WebSocket upgrade answered %i, once, however often it is tried', async (code, said) => {
    // A proxy in front that does not pass WebSockets (503), or a master refusing the token (401).
    let upgrades = 0;
    const proxy = createServer((_req, res) => res.end());
    proxy.on('upgrade', (_req, socket) => {
      upgrades++;
      // The refused replica may reset the connection first: an upgrade's socket is ours to
      // watch (node:http leaves it no error listener), and an unwatched reset ended the run.
      socket.on('error', () => undefined);
      socket.end(`HTTP/1.1 ${code} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const lines: { level: number; msg: string; status?: number }[] = [];
    try {
      start(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, {
        log: pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) }),
        reconnectMinMs: 10,
        reconnectMaxMs: 20,
      });
      await vi.waitFor(() => expect(upgrades).toBeGreaterThanOrEqual(4), { timeout: 10_000, interval: 5 });
      const warnings = lines.filter((l) => l.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ status: code });
      expect(warnings[0]!.msg).toMatch(said);
    } finally {
      await link?.stop();
      link = undefined;
      proxy.close();
    }
  });
});
