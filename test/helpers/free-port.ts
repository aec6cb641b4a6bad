import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Where the kernel picks the source ports of outgoing connections (Linux: 32768–60999). A
 * port chosen by listening on port 0 comes from that range, so the many connections of a
 * test run could take it as a source port between the probe and the service binding it (a
 * master once failed to start on CI so: "another process holds it"). Ports below it are
 * never given out that way.
 */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low);
  } catch (err) {
    // Not Linux: no range to keep clear of; port 0 as before.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

const LOW = ephemeralLow();
/** Ports tried below the ephemeral range: this many, at random (parallel workers rarely meet). */
const SPAN = 12_000;

function tryListen(port: number, host: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(null) : reject(err),
    );
    srv.listen(port, host, () => {
      const { port: bound } = srv.address() as { port: number };
      srv.close(() => resolve(bound));
    });
  });
}

/** A TCP port that was free a moment ago on the host, outside the range outgoing connections use. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  if (LOW - SPAN >= 1024) {
    for (let i = 0; i < 50; i++) {
      const port = await tryListen(LOW - SPAN + Math.floor(Math.random() * SPAN), host);
      if (port !== null) return port;
    }
  }
  const port = await tryListen(0, host);
  if (port === null) throw new Error('no free port');
  return port;
}
