/**
 * The "Node's own http" server of the serving benchmark (scripts/bench/serve.ts): every file of
 * a flat directory read once at start into a Buffer, one per path in a Map, and each answer is
 * one `res.end(buffer)`. What a Node server can do at best, with no store, no disk and no routing.
 *
 *   node --import tsx scripts/bench/serve-node-http.ts --root DIR --port PORT [--tls-cert F --tls-key F]
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
});
const tls =
  values['tls-cert'] && values['tls-key']
    ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) }
    : undefined;
if (!values.root) throw new Error('--root DIR is required');

interface File {
  body: Buffer;
  headers: Record<string, string | number>;
}

// The same validators nginx and @fastify/static send, so the heads are of a like size.
const files = new Map<string, File>();
for (const name of readdirSync(values.root)) {
  const path = join(values.root, name);
  const st = statSync(path);
  if (!st.isFile()) continue;
  const body = readFileSync(path);
  files.set(`/${name}`, {
    body,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      etag: `"${createHash('sha256').update(body).digest('hex')}"`,
      'last-modified': st.mtime.toUTCString(),
      'accept-ranges': 'bytes',
    },
  });
}

const handler = (req: IncomingMessage, res: ServerResponse) => {
  const file = files.get(req.url ?? '');
  if (!file) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, file.headers);
  res.end(req.method === 'HEAD' ? undefined : file.body);
};
const server = tls ? createHttpsServer(tls, handler) : createServer(handler);

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address() as { port: number };
  console.log(
    JSON.stringify({ msg: 'listening', url: `${tls ? 'https' : 'http'}://${values.host}:${port}` }),
  );
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
