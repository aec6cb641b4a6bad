import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/*
 * The answers the replica gives before a request reaches the content handler or fastify:
 * requests refused whole, an Expect it cannot meet, CONNECT. Each carries what every response
 * of a replica carries (X-Outpost-Version, X-Outpost-Replica) and a problem body, as the
 * content handler's own errors do.
 */

/** Who answers: the replica's name and the version it serves now. */
export interface Answerer {
  name: string;
  version: () => number;
}

/** The headers every response of a replica carries. */
export function replicaHeaders(a: Answerer): Record<string, string> {
  return { 'x-outpost-version': String(a.version()), 'x-outpost-replica': a.name };
}

const problem = (status: number, title: string, detail: string) =>
  JSON.stringify({ type: 'about:blank', title, status, detail });

function answer(
  res: ServerResponse,
  a: Answerer,
  status: number,
  title: string,
  detail: string,
  extra: OutgoingHttpHeaders = {},
): void {
  const body = problem(status, title, detail);
  res.writeHead(status, {
    ...replicaHeaders(a),
    ...extra,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** Answers 400 with a problem body and closes the connection: what follows cannot be trusted. */
export function refuse(res: ServerResponse, detail: string, a: Answerer): void {
  res.shouldKeepAlive = false;
  answer(res, a, 400, 'Bad Request', detail, { connection: 'close' });
}

/** Answers 505 and closes the connection: a request in a major version other than HTTP/1 (RFC 9110 §15.6.6). */
export function refuseVersion(res: ServerResponse, a: Answerer): void {
  res.shouldKeepAlive = false;
  answer(
    res,
    a,
    505,
    'HTTP Version Not Supported',
    `HTTP/${res.req?.httpVersion ?? '?'} is not spoken here; HTTP/1.1 and HTTP/1.0 are`,
    { connection: 'close' },
  );
}

/**
 * Answers an Expect other than 100-continue (node:http emits 'checkExpectation' for it):
 * 417, as RFC 9110 §10.1.1 allows, in place of node:http's bare one.
 */
export function answerExpectation(req: IncomingMessage, res: ServerResponse, a: Answerer): void {
  answer(
    res,
    a,
    417,
    'Expectation Failed',
    `Expect: ${req.headers.expect ?? ''} cannot be met; only 100-continue is`,
  );
}

/**
 * Answers CONNECT (node:http emits 'connect' for it and hands over the raw socket): 405, as
 * for any method but GET and HEAD, and a close, since the socket is no longer node:http's to
 * read requests from. Without this node:http closes the connection with no answer at all.
 */
export function answerConnect(socket: Duplex, a: Answerer): void {
  const body = problem(405, 'Method Not Allowed', 'CONNECT is not served; use GET or HEAD');
  let head = 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n';
  for (const [name, value] of Object.entries(replicaHeaders(a))) head += `${name}: ${value}\r\n`;
  head +=
    `Date: ${new Date().toUTCString()}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n` +
    `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n`;
  socket.on('error', () => socket.destroy());
  // A client that does not close its end is not waited for once the answer is out.
  socket.end(head + body, () => socket.destroy());
}
