/**
 * The "fastify + @fastify/static" server of the serving benchmark (scripts/bench/serve.ts):
 * the plugin with its defaults (ETag, Last-Modified, ranges; a read stream from disk per
 * request), no logger. The usual way a Node team serves a directory.
 *
 *   node --import tsx scripts/bench/serve-fastify-static.ts --root DIR --port PORT
 */
import { parseArgs } from 'node:util';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!values.root) throw new Error('--root DIR is required');

const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root: values.root });
const url = await app.listen({ port: Number(values.port), host: values.host });
console.log(JSON.stringify({ msg: 'listening', url }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
