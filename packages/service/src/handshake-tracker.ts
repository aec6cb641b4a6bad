import type { Server as NetServer, Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';

const handshaking = new WeakMap<NetServer, Set<Socket>>();

/**
 * Keeps count, for a TLS server, of the connections whose handshake has not ended, so that a
 * stop cuts them at once (cutHandshakes): they hold no request. A load balancer's TCP probe, or
 * any client silent after connecting, held a stop up until its handshake timed out.
 */
export function trackHandshakes(server: TlsServer): void {
  const pending = new Set<Socket>();
  handshaking.set(server, pending);
  server.on('connection', (raw: Socket) => {
    pending.add(raw);
    raw.once('close', () => pending.delete(raw));
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    // The TLS socket's transport: node's own name for it, stable since TLS sockets wrap one.
    const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
    if (raw) pending.delete(raw);
  });
}

/** Cuts the connections of a tracked TLS server still in their handshake; how many. */
export function cutHandshakes(server: NetServer): number {
  const pending = handshaking.get(server);
  if (!pending) return 0;
  const n = pending.size;
  for (const raw of pending) raw.destroy();
  pending.clear();
  return n;
}
