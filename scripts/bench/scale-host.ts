/**
 * Hosts many replicas in one Node process, for the 100-replica benchmark: each is the real
 * replica (`buildReplica`, what `outpost replica` starts) with its own store, port and
 * WebSocket to the master, so a fleet of 100 fits in a few processes.
 *
 *   node --conditions=source --import tsx scripts/bench/scale-host.ts \
 *     --master URL --data DIR --count 25 --prefix h0- [--log-level warn]
 *
 * Prints one JSON line per replica once all listen, `{"name", "url"}`, then `{"ready": true}`.
 * SIGTERM stops them all.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReplica, type Replica } from '@outpost/replica';

const { values } = parseArgs({
  options: {
    master: { type: 'string' },
    data: { type: 'string' },
    count: { type: 'string', default: '25' },
    prefix: { type: 'string', default: 'r-' },
    region: { type: 'string', default: 'bench' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
if (!values.master || !values.data) throw new Error('needs --master URL and --data DIR');

const replicas: Replica[] = [];
for (let i = 0; i < Number(values.count); i++) {
  const name = `${values.prefix}${String(i).padStart(3, '0')}`;
  replicas.push(
    buildReplica({
      name,
      region: values.region!,
      master: values.master,
      data: join(values.data, name),
      host: '127.0.0.1',
      port: 0,
      logLevel: values['log-level'] as 'warn',
    }),
  );
}
for (const r of replicas) {
  const url = await r.start();
  process.stdout.write(`${JSON.stringify({ name: r.config.name, url })}\n`);
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    if (stopping) process.exit(130);
    stopping = true;
    void Promise.allSettled(replicas.map((r) => r.stop())).then(() => process.exit(0));
  });
