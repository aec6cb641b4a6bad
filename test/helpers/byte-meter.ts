import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ByteMeter {
  /** A URL that reaches the target through the meter. */
  url: string;
  /** Bytes that crossed since the last reset: towards the target, and back. */
  bytes(): { up: number; down: number; total: number };
  reset(): void;
  close(): Promise<void>;
}

/** A TCP proxy that counts every byte each way: wire bytes as the network sees them. */
export async function startByteMeter(target: string): Promise<ByteMeter> {
  const t = new URL(target);
  let up = 0;
  let down = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(t.port), t.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => {
      up += d.length;
    });
    upstream.on('data', (d: Buffer) => {
      down += d.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    bytes: () => ({ up, down, total: up + down }),
    reset: () => {
      up = 0;
      down = 0;
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
