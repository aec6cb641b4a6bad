import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { cutHandshakes } from './handshake-tracker.js';

/**
 * Closes a service's HTTP side: no new connection is taken, and responses in flight may
 * finish for `drainMs`; then their connections are cut, so that a reader who stopped reading
 * cannot hold a stop up until the process is killed.
 */
export async function closeDraining(app: FastifyInstance, drainMs: number, log: Logger): Promise<void> {
  // No request can be in flight on a connection still in its TLS handshake.
  cutHandshakes(app.server);
  const cut = setTimeout(() => {
    log.warn({ drainMs }, 'stopping: cutting the responses still in flight');
    app.server.closeAllConnections();
  }, drainMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
