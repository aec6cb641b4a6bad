/**
 * The "fastify + @fastify/static" server of the serving benchmark (scripts/bench/serve.ts):
 * the plugin with its defaults (ETag, Last-Modified, ranges; a read stream from disk per
 * request), no logger. The usual way a Node team serves a directory.
 *
 *   node --import tsx scripts/bench/serve-fastify-static.ts --root DIR --port PORT [--tls-cert F --tls-key F]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
});
if (!values.root) throw new Error('--root DIR is required');

const https =
  values['tls-cert'] && values['tls-key']
    ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) }
    : null;
const app = Fastify({ logger: false, https });
await app.register(fastifyStatic, { root: values.root });
const url = await app.listen({ port: Number(values.port), host: values.host });
console.log(JSON.stringify({ msg: 'listening', url }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
