import { connect, createServer, type Socket } from 'node:net';

export interface HoldProxy {
  url: string;
  /** While held, nothing from the master reaches the replica (its pings still go out). */
  hold(): void;
  /** Lets everything held through, in order, and what follows. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy between a replica and the master that can hold back the master's side: the
 * replica keeps talking (so the master hears its heartbeats) but receives no new version —
 * a replica held behind, as by a one-way network fault.
 */
export async function startHoldProxy(target: string): Promise<HoldProxy> {
  const t = new URL(target);
  let holding = false;
  const flows = new Set<{ queue: Buffer[]; client: Socket; upstream: Socket }>();
  const server = createServer((client) => {
    const upstream = connect(Number(t.port), t.hostname);
    const flow = { queue: [] as Buffer[], client, upstream };
    flows.add(flow);
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      if (holding) flow.queue.push(d);
      else client.write(d);
    });
    const end = () => {
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', () => {
      // What was held is still delivered before the close, as the network would.
      if (!holding) end();
    });
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const f of flows) {
        for (const d of f.queue.splice(0)) f.client.write(d);
        if (f.upstream.destroyed) f.client.end();
      }
    },
    close: () =>
      new Promise((r) => {
        for (const f of flows) {
          f.client.destroy();
          f.upstream.destroy();
        }
        server.close(() => r());
      }),
  };
}
