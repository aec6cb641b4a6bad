import type { Server, ServerOptions } from 'node:http';

/** Limits that keep slow, oversized and malformed clients from tying the content server up. */
export interface ServerLimits {
  /** All request headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** The whole request must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A connection is closed after this many requests. */
  maxRequestsPerSocket: number;
  /** Largest request head, in bytes; beyond it the answer is 431 and the connection closes. */
  maxHeaderBytes: number;
  /** Most header lines read from one request. */
  maxHeadersCount: number;
  /** A connection with no traffic at all for this long is dropped (a reader that stopped reading). */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // Node starts this clock when the last byte is handed to the kernel, not when the reader has
  // it: a slow reader draining a large body must not find its connection closed under it.
  keepAliveTimeoutMs: 65_000,
  maxRequestsPerSocket: 10_000,
  maxHeaderBytes: 16 * 1024,
  maxHeadersCount: 100,
  idleTimeoutMs: 120_000,
};

/** The options node:http takes at creation. */
export function serverOptions(l: ServerLimits): ServerOptions {
  return {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    maxHeaderSize: l.maxHeaderBytes,
    // Strict parsing: conflicting Content-Length / Transfer-Encoding and other smuggling
    // shapes are answered 400 and the connection closed.
    insecureHTTPParser: false,
    // An HTTP/1.1 request without Host is refused by the request guard, with a problem body
    // and the replica's headers: node:http's own refusal has neither.
    requireHostHeader: false,
    // Timeouts are only as sharp as the interval they are checked at (30 s by default).
    connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs),
  };
}

/** Applies the limits node:http sets on the server object rather than at creation. */
export function applyServerLimits(server: Server, l: ServerLimits): void {
  server.maxHeadersCount = l.maxHeadersCount;
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  server.setTimeout(l.idleTimeoutMs, (socket) => socket.destroy());
}
