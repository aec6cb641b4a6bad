import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';

export interface FaultProxy {
  url: string;
  /** Chunk responses corrupted so far. */
  corrupted: () => number;
  /** While on, every chunk body is corrupted (one flipped bit each). */
  setCorrupting: (on: boolean) => void;
  close: () => Promise<void>;
}

/**
 * A proxy between a replica and the master that passes everything through (WebSocket
 * upgrades included) but can flip a bit in chunk bodies, to prove they are refused.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  let corrupting = false;
  let corrupted = 0;
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        // Single chunks (GET …/chunks/<hash>) and batches (POST …/chunks) alike.
        const isChunk = req.url?.startsWith('/_outpost/api/v1/chunks') && up.statusCode === 200;
        if (!isChunk || !corrupting) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        corrupted++;
        const parts: Buffer[] = [];
        up.on('data', (d: Buffer) => parts.push(d));
        up.on('end', () => {
          const body = Buffer.concat(parts);
          body[body.length >> 1]! ^= 0x01;
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(body);
        });
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const tunnels = new Set<{ destroy: () => void }>();
  server.on('upgrade', (req, socket, head) => {
    const up = connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const pair = {
      destroy: () => {
        socket.destroy();
        up.destroy();
      },
    };
    tunnels.add(pair);
    socket.once('close', () => {
      tunnels.delete(pair);
      up.destroy();
    });
    up.once('close', () => socket.destroy());
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    corrupted: () => corrupted,
    setCorrupting: (on) => {
      corrupting = on;
    },
    close: () =>
      new Promise((r) => {
        // Upgraded sockets are no longer the HTTP server's to close, but they keep it open.
        for (const t of tunnels) t.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
