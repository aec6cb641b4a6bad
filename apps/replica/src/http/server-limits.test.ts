import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { applyServerLimits, DEFAULT_LIMITS, type ServerLimits, serverOptions } from './server-limits.js';

const LIMITS: ServerLimits = {
  headersTimeoutMs: 2_500,
  requestTimeoutMs: 7_000,
  keepAliveTimeoutMs: 1_500,
  maxRequestsPerSocket: 42,
  maxHeaderBytes: 8_192,
  maxHeadersCount: 33,
  idleTimeoutMs: 60_000,
};

describe('DEFAULT_LIMITS', () => {
  it('holds the documented values', () => {
    expect(DEFAULT_LIMITS).toStrictEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      maxRequestsPerSocket: 10_000,
      maxHeaderBytes: 16_384,
      maxHeadersCount: 100,
      idleTimeoutMs: 120_000,
    });
  });

  it('keeps node:http consistent: headers must time out before the whole request', () => {
    expect(DEFAULT_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(DEFAULT_LIMITS.requestTimeoutMs);
  });
});

describe('serverOptions', () => {
  it('maps each limit onto its node:http option, strict (Host is required by the request guard)', () => {
    expect(serverOptions(LIMITS)).toStrictEqual({
      headersTimeout: 2_500,
      requestTimeout: 7_000,
      keepAliveTimeout: 1_500,
      maxHeaderSize: 8_192,
      insecureHTTPParser: false,
      requireHostHeader: false,
      connectionsCheckingInterval: 1_000,
    });
  });

  it('checks connections at least as often as the headers timeout', () => {
    expect(serverOptions(DEFAULT_LIMITS).connectionsCheckingInterval).toBe(1_000);
    expect(serverOptions({ ...LIMITS, headersTimeoutMs: 300 }).connectionsCheckingInterval).toBe(300);
    expect(serverOptions({ ...LIMITS, headersTimeoutMs: 1_000 }).connectionsCheckingInterval).toBe(1_000);
  });

  it('is taken by http.createServer as given', () => {
    const server = createServer(serverOptions(LIMITS));
    expect(server.headersTimeout).toBe(2_500);
    expect(server.requestTimeout).toBe(7_000);
    expect(server.keepAliveTimeout).toBe(1_500);
    expect(server.listening).toBe(false);
  });
});

describe('applyServerLimits', () => {
  it('sets the limits node:http keeps on the server object', () => {
    const server = createServer(serverOptions(LIMITS));
    expect(server.maxRequestsPerSocket).not.toBe(42);
    applyServerLimits(server, LIMITS);
    expect(server.maxHeadersCount).toBe(33);
    expect(server.maxRequestsPerSocket).toBe(42);
    expect(server.timeout).toBe(60_000);
    expect(server.listening).toBe(false);
  });

  it('applies the defaults', () => {
    const server = createServer();
    applyServerLimits(server, DEFAULT_LIMITS);
    expect(server.maxHeadersCount).toBe(100);
    expect(server.maxRequestsPerSocket).toBe(10_000);
    expect(server.timeout).toBe(120_000);
  });

  it('destroys a socket that goes idle', () => {
    const server = createServer();
    applyServerLimits(server, LIMITS);
    expect(server.listenerCount('timeout')).toBe(1);
    const socket = { destroy: vi.fn() } as unknown as Socket;
    server.emit('timeout', socket);
    expect(socket.destroy).toHaveBeenCalledTimes(1);
  });
});
