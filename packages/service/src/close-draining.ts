import { type IncomingMessage, Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { cutHandshakes } from './handshake-tracker.js';

/** How often, during the drain, the connections done with their last response are looked at. */
const IDLE_SWEEP_MS = 50;

/** node:http's own list of its connections (internal; Node 18 to 24 keep it so), or null. */
interface ConnectionsList {
  idle(): { socket: Socket & { _httpMessage?: ServerResponse | null } }[];
}
function connectionsOf(server: Server): ConnectionsList | null {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections');
  const list = key === undefined ? undefined : (server as unknown as Record<symbol, unknown>)[key];
  return list && typeof (list as ConnectionsList).idle === 'function' ? (list as ConnectionsList) : null;
}

const bytesAtLastLook = new WeakMap<Socket, number>();

/**
 * True when nothing came on `socket` since the last time it was asked (and it is asked now):
 * a keep-alive connection closed only then does not cut a request on its way in, as one
 * closed the moment its last answer was done did (the reader had sent the next at once).
 */
export function quietSinceLastLook(socket: Socket): boolean {
  const before = bytesAtLastLook.get(socket);
  bytesAtLastLook.set(socket, socket.bytesRead);
  return before === socket.bytesRead;
}

/**
 * Closes node:http's connections that have no request under way and have read nothing since
 * the last sweep (see quietSinceLastLook); Node's own closeIdleConnections where its list of
 * connections cannot be had.
 */
export function closeQuietConnections(server: Server): void {
  const list = connectionsOf(server);
  if (!list) {
    Server.prototype.closeIdleConnections.call(server);
    return;
  }
  for (const { socket } of list.idle()) {
    const answering = socket._httpMessage && !socket._httpMessage.writableFinished;
    if (!answering && quietSinceLastLook(socket)) socket.destroy();
  }
}

/**
 * Closes a service's HTTP side: no new connection is taken, and responses in flight may
 * finish for `drainMs`; then their connections are cut, so that a reader who stopped reading
 * cannot hold a stop up until the process is killed.
 *
 * A keep-alive connection ends with its response in flight: each answer from now on says
 * `Connection: close`, and one quiet since the last sweep is closed. Node closes only the
 * connections idle at the stop; the busy ones had gone on taking requests for the whole drain
 * (thousands, new downloads among them), to be cut at its end.
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
  // Node's close() closes the idle connections at once: gently, as the sweeps do. (The direct
  // lane puts its own in place, which closes node:http's gently too.)
  const own = Object.hasOwn(server, 'closeIdleConnections');
  if (!own) server.closeIdleConnections = () => closeQuietConnections(server);
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
    if (!own) delete (server as Partial<Server>).closeIdleConnections;
  }
}
