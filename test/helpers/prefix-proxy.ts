import { createServer, request as httpRequest, type Server } from 'node:http';

/**
 * An HTTP proxy that serves `target` under a path prefix, as a site's nginx serves a service
 * at /outpost/: a request for <prefix>/x goes to the target's /x with `X-Forwarded-Prefix`
 * set; any other path is answered 404 by the proxy itself.
 */
export async function startPrefixProxy(
  target: string,
  prefix: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const t = new URL(target);
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (!path.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not proxied\n');
      return;
    }
    const upstream = httpRequest(
      {
        host: t.hostname,
        port: t.port,
        method: req.method,
        path: path.slice(prefix.length),
        headers: { ...req.headers, 'x-forwarded-prefix': prefix },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
