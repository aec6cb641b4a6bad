import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/** A request line whose version is well formed (`HTTP/d.d` and CRLF), whatever the version. */
const VERSIONED_LINE = /^[^ \r\n]+ [^ \r\n]+ HTTP\/\d\.\d\r\n/;

/**
 * 505 for a well-formed version node:http does not speak (HTTP/1.2, HTTP/3.0: RFC 9110
 * §15.6.6); llhttp says HPE_INVALID_VERSION for a line that does not end as it should after
 * the version too (a bare LF, smuggling-shaped), and that is a 400.
 */
function unspokenVersion(err: Error & { rawPacket?: unknown }): boolean {
  const raw = err.rawPacket;
  return Buffer.isBuffer(raw) && VERSIONED_LINE.test(raw.toString('latin1', 0, Math.min(raw.length, 8192)));
}

/** What went wrong, where the parser's code says it plainly. */
const DETAIL: Record<string, string> = {
  HPE_INVALID_METHOD: 'the request method is not one this server knows',
  HPE_INVALID_URL:
    'the request target is malformed (raw spaces, control or non-ASCII bytes must be percent-encoded)',
  HPE_INVALID_VERSION: 'the request line is malformed (it must end in HTTP/1.1 or HTTP/1.0, then CRLF)',
  HPE_HEADER_OVERFLOW: 'the request head is too large',
  ERR_HTTP_REQUEST_TIMEOUT: 'the request did not arrive in time',
};

export interface ClientErrorOptions {
  /**
   * Headers every response of the service carries (a replica's name and the version it
   * serves), read when an answer is written. Names and values that could not go on the wire
   * as they are (CR, LF, …) are left out rather than sent.
   */
  headers?: () => Record<string, string | number>;
  /**
   * The methods the service serves, for a request whose method the parser does not know at all
   * (`FOO`, Varnish's `BAN`): answered 405 with this `Allow`, as a method it knows but does
   * not serve is. Without it, 501 Not Implemented (RFC 9110 §9.1).
   */
  allow?: string;
}

/** A field name (RFC 9110 §5.1), and a value node:http would also let through (§5.5). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Answers a request node:http could not parse (malformed, smuggling-shaped, too large, too
 * slow) with a problem body, then closes the connection: after such a request nothing more
 * on the socket can be trusted.
 *
 * One request gets one response: when the server has answered already (the request guard
 * refuses a head node:http handed over, then the parser fails on what follows it), a second
 * answer here would be read as the response to the next request. Then the socket is only closed.
 */
export function answerClientError(
  err: Error & { code?: string },
  socket: Socket,
  o: ClientErrorOptions = {},
): void {
  // A TLS handshake that failed or never ended (a silent client, plain HTTP to the HTTPS port)
  // has no channel to answer on: an answer written into it stayed there, the socket was never
  // closed, and it held the service's stop until the client left (then sat in CLOSE-WAIT).
  if (err.code === 'ECONNRESET' || !socket.writable || isTlsFailure(err)) {
    socket.destroy();
    return;
  }
  // node:http keeps the response being written to a socket as `_httpMessage`, and checks it
  // itself before its own default answer (socketOnError in lib/_http_server.js).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight?.headersSent) {
    // A response that is whole goes out before the close; one cut short is cut off at once.
    if (inFlight.writableEnded) socket.end();
    else socket.destroy();
    return;
  }
  const unknownMethod = err.code === 'HPE_INVALID_METHOD';
  const version = err.code === 'HPE_INVALID_VERSION' && unspokenVersion(err);
  const [status, title]: [number, string] = unknownMethod
    ? o.allow
      ? [405, 'Method Not Allowed']
      : [501, 'Not Implemented']
    : version
      ? [505, 'HTTP Version Not Supported']
      : (STATUS[err.code ?? ''] ?? [400, 'Bad Request']);
  const body = JSON.stringify({
    type: 'about:blank',
    title,
    status,
    detail: version
      ? 'the HTTP version is not one this server speaks (HTTP/1.1 and HTTP/1.0 are)'
      : (DETAIL[err.code ?? ''] ?? 'the request could not be read'),
  });
  // What every other answer of the service carries: a Date (RFC 9110 §6.6.1: a server with a
  // clock MUST send one), and a problem body that is neither stored nor sniffed.
  let extra = `Date: ${new Date().toUTCString()}\r\n`;
  if (unknownMethod && o.allow) extra += `Allow: ${o.allow}\r\n`;
  for (const [name, value] of Object.entries(o.headers?.() ?? {})) {
    if (TOKEN.test(name) && FIELD_VALUE.test(String(value))) extra += `${name}: ${value}\r\n`;
  }
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n${extra}Content-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n` +
      `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** An error of a TLS handshake: node's (ERR_TLS_HANDSHAKE_TIMEOUT) or OpenSSL's (ERR_SSL_…). */
function isTlsFailure(err: Error & { code?: string; library?: string }): boolean {
  const code = err.code ?? '';
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || err.library !== undefined;
}

/** answerClientError with these options, as fastify's `clientErrorHandler` takes it. */
export function clientErrorAnswerer(
  o: ClientErrorOptions,
): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => answerClientError(err, socket, o);
}
