import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** True when the request asks to upgrade to a WebSocket (and not, say, to h2c). */
export function wantsWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').split(',').some((p) => p.trim().toLowerCase() === 'websocket');
}

/**
 * Answers a request that asked for an upgrade the master does not offer (`curl --http2` asks
 * for h2c) as plain HTTP/1.1, as RFC 9110 §7.8 lets a server ignore Upgrade. With an 'upgrade'
 * listener, Node hands every request with an Upgrade header to it and never to the routes: each
 * got 404 `no WebSocket endpoint at this path`, healthz and the admin API included. The socket
 * has left Node's parser by then, so the response closes the connection, and a request with a
 * body (which no longer reaches the request) is refused with 400.
 */
export function answerAsPlainHttp(server: Server, req: IncomingMessage, socket: Duplex): void {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody) {
    const body = JSON.stringify({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: `upgrade to ${req.headers.upgrade} is not offered here; send the request again without Upgrade`,
    });
    socket.end(
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return;
  }
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  server.emit('request', req, res);
}
