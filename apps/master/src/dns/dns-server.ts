import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { Responder, ZoneView } from '@outpost/dns';
import type { Logger } from 'pino';

export interface DnsServerOptions {
  host: string;
  port: number;
  responder: Responder;
  view: () => ZoneView;
  log: Logger;
  /** Most TCP connections open at once; more are closed at once. */
  maxTcpConnections?: number;
  /** Most TCP connections open at once from one address, so one client cannot take them all. */
  maxTcpPerClient?: number;
  /** A TCP connection idle this long is closed (RFC 7766 suggests seconds). */
  tcpIdleMs?: number;
}

/** Counters of what the edges saw, beside the responder's. */
export interface DnsEdgeCounters {
  udpErrors: number;
  tcpConnections: number;
  tcpRefused: number;
  tcpErrors: number;
  handlerErrors: number;
}

/**
 * The thin I/O edges of the DNS server: one UDP socket and one TCP listener (RFC 7766 framing,
 * a 2-byte length before each message) on the same address and port. Every packet is handled
 * in a try/catch: nothing a client sends can stop the server.
 */
export class DnsServer {
  readonly #o: Required<DnsServerOptions>;
  readonly counters: DnsEdgeCounters = {
    udpErrors: 0,
    tcpConnections: 0,
    tcpRefused: 0,
    tcpErrors: 0,
    handlerErrors: 0,
  };
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #sockets = new Set<Socket>();
  /** Open TCP connections by remote address. */
  readonly #perClient = new Map<string, number>();
  #lastWarnAt = 0;
  #suppressed = 0;

  constructor(o: DnsServerOptions) {
    this.#o = { maxTcpConnections: 256, maxTcpPerClient: 32, tcpIdleMs: 10_000, ...o };
  }

  /** Binds UDP and TCP; resolves to the addresses, `host:port` each. */
  async start(attempt = 1): Promise<{ udp: string; tcp: string }> {
    const { host } = this.#o;
    const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    this.#udp = udp;
    udp.on('message', (msg, rinfo) => {
      const res = this.#handle(msg, 'udp');
      if (res) udp.send(res, rinfo.port, rinfo.address, (err) => err && this.#count('udpErrors', err));
    });
    // A failed bind rejects the start, which the caller reports: counted and logged as a
    // server error as well, it made two lines of one failure.
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.#o.port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.#count('udpErrors', err));
    const udpPort = udp.address().port;

    const tcp = createServer((socket) => this.#serveTcp(socket));
    this.#tcp = tcp;
    // Same port as UDP, as resolvers expect (also when the port was 0: the one UDP got).
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udpPort, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      this.#udp = undefined;
      this.#tcp = undefined;
      // Port 0: the port UDP got may be taken for TCP by someone else; pick another pair.
      if (this.#o.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20)
        return this.start(attempt + 1);
      throw err;
    }
    tcp.on('error', (err) => this.#count('tcpErrors', err));
    const fmt = (h: string, p: number) => (isIPv6(h) ? `[${h}]:${p}` : `${h}:${p}`);
    return { udp: fmt(host, udpPort), tcp: fmt(host, udpPort) };
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.#udp ? this.#udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.#tcp ? this.#tcp.close(() => r()) : r())),
    ]);
  }

  #handle(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    try {
      return this.#o.responder.respond(msg, transport, this.#o.view());
    } catch (err) {
      // A bug, not the client's fault; never let it take the server down.
      this.#count('handlerErrors', err as Error);
      return null;
    }
  }

  #serveTcp(socket: Socket) {
    const client = socket.remoteAddress;
    const held = client === undefined ? 0 : (this.#perClient.get(client) ?? 0);
    if (
      client === undefined ||
      this.#sockets.size >= this.#o.maxTcpConnections ||
      held >= this.#o.maxTcpPerClient
    ) {
      this.counters.tcpRefused++;
      socket.destroy();
      return;
    }
    this.counters.tcpConnections++;
    this.#sockets.add(socket);
    this.#perClient.set(client, held + 1);
    socket.setNoDelay(true);
    socket.setTimeout(this.#o.tcpIdleMs, () => socket.destroy());
    socket.on('close', () => {
      this.#sockets.delete(socket);
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    });
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    // A message begun must be whole within the idle time: a client sending a byte every few
    // seconds is never idle, and would hold its connection for ever (slowloris).
    let partial: NodeJS.Timeout | undefined;
    socket.on('close', () => clearTimeout(partial));
    // A client that pipelines queries but does not read its answers is not read, nor answered,
    // any further until it has: each answer of a 64 KiB read of queries was written before,
    // megabytes held per connection.
    let draining = false;
    const answer = () => {
      while (!draining && pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const res = this.#handle(msg, 'tcp');
        if (res === null) {
          // Not a query at all: what follows on this stream cannot be trusted either.
          socket.destroy();
          return;
        }
        const framed = Buffer.allocUnsafe(2 + res.length);
        framed.writeUInt16BE(res.length, 0);
        res.copy(framed, 2);
        if (!socket.write(framed)) {
          draining = true;
          socket.pause();
          socket.once('drain', () => {
            draining = false;
            socket.resume();
            answer();
          });
        }
      }
      // Whole queries held until the client reads: its socket's idle timeout covers that.
      if (pending.length === 0 || draining) {
        clearTimeout(partial);
        partial = undefined;
      } else partial ??= setTimeout(() => socket.destroy(), this.#o.tcpIdleMs);
    };
    socket.on('data', (data: Buffer) => {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      answer();
    });
  }

  #count(counter: keyof DnsEdgeCounters, err: Error) {
    this.counters[counter]++;
    // At most one line per 10 s: a flood of bad packets must not become a flood of logs.
    const now = Date.now();
    if (now - this.#lastWarnAt < 10_000) {
      this.#suppressed++;
      return;
    }
    this.#o.log.warn({ err: err.message, counter, suppressed: this.#suppressed }, 'dns server error');
    this.#lastWarnAt = now;
    this.#suppressed = 0;
  }
}
