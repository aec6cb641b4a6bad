import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { cutHandshakes } from './handshake-tracker.js';

/** How often, during the drain, the connections done with their last response are closed. */
const IDLE_SWEEP_MS = 50;

/**
 * Closes a service's HTTP side: no new connection is taken, and responses in flight may
 * finish for `drainMs`; then their connections are cut, so that a reader who stopped reading
 * cannot hold a stop up until the process is killed.
 *
 * A keep-alive connection ends with its response in flight: each answer from now on says
 * `Connection: close`, and one that was already under way when the stop came is closed once
 * done. Node closes only the connections idle at the stop; the busy ones had gone on taking
 * requests for the whole drain (thousands, new downloads among them), to be cut at its end.
 */
export async function closeDraining(app: FastifyInstance, drainMs: number, log: Logger): Promise<void> {
  const server = app.server as unknown as Server;
  // No request can be in flight on a connection still in its TLS handshake.
  cutHandshakes(server);
  const lastAnswer = (_req: IncomingMessage, res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  // Before the service's own listener, which may answer at once (a cached file).
  server.prependListener('request', lastAnswer);
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const cut = setTimeout(() => {
    log.warn({ drainMs }, 'stopping: cutting the responses still in flight');
    server.closeAllConnections();
  }, drainMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
    clearInterval(sweep);
    server.removeListener('request', lastAnswer);
  }
}
