import { createServer, request as httpRequest, type Server } from 'node:http';

/**
 * An HTTP proxy that passes plain requests through and refuses every WebSocket upgrade, as
 * some corporate proxies do: a replica behind it can only pull.
 */
export async function startNoWebSocketProxy(
  target: string,
): Promise<{ url: string; upgradesRefused: () => number; close: () => Promise<void> }> {
  const t = new URL(target);
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  server.on('upgrade', (_req, socket) => {
    refused++;
    // A client that resets first: an upgrade's socket has no error listener of node:http's.
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    upgradesRefused: () => refused,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
