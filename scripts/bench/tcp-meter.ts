/**
 * A TCP proxy that counts the bytes crossing it each way: a wire meter between two sides of
 * a benchmark (a replica and its master, an rsync client and its daemon). It knows nothing
 * of the protocol, so what it counts is what a network link would carry (TCP payload; no
 * headers). Counters are reset between phases.
 *
 *   const m = await startTcpMeter(7070);   // listens on 127.0.0.1:<m.port>, forwards to :7070
 *   m.reset(); …; m.read() → { up, down, connections }
 */
import { connect, createServer, type Socket } from 'node:net';

export interface MeterReading {
  /** Bytes from the client side (who connects to the meter) to the target. */
  up: number;
  /** Bytes from the target back to the client side. */
  down: number;
  /** Connections accepted since the last reset. */
  connections: number;
}

export interface TcpMeter {
  readonly port: number;
  readonly url: string;
  read(): MeterReading;
  /** Zeroes the counters and returns what they held. */
  reset(): MeterReading;
  /** Stops accepting and cuts every open connection. */
  close(): Promise<void>;
}

export async function startTcpMeter(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpMeter> {
  let up = 0;
  let down = 0;
  let connections = 0;
  const open = new Set<Socket>();
  const server = createServer({ noDelay: true }, (client) => {
    connections++;
    const target = connect({ port: targetPort, host: targetHost, noDelay: true });
    open.add(client);
    open.add(target);
    client.on('data', (d: Buffer) => {
      up += d.length;
      if (!target.write(d)) client.pause();
    });
    target.on('drain', () => client.resume());
    target.on('data', (d: Buffer) => {
      down += d.length;
      if (!client.write(d)) target.pause();
    });
    client.on('drain', () => target.resume());
    // Half-close passes through: rsync and HTTP both rely on orderly shutdowns.
    client.on('end', () => target.end());
    target.on('end', () => client.end());
    const kill = () => {
      client.destroy();
      target.destroy();
    };
    client.on('error', kill);
    target.on('error', kill);
    client.on('close', () => {
      open.delete(client);
      target.destroy();
    });
    target.on('close', () => {
      open.delete(target);
      client.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    read: () => ({ up, down, connections }),
    reset() {
      const was = { up, down, connections };
      up = 0;
      down = 0;
      connections = 0;
      return was;
    },
    close: () =>
      new Promise((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
