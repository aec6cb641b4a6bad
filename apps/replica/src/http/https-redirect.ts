import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { originFormOf } from '../serve/request-path.js';
import type { ServerLimits } from './server-limits.js';
import { applyServerLimits, serverOptions } from './server-limits.js';

/** A host name or an IPv4 address, as a Host header names them (without the port). */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** An IPv6 address in brackets, as a Host header names one. */
const HOST_IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/;

/**
 * The HTTPS address of what a plain-HTTP request asked for: the host it named (its port
 * dropped), the HTTPS port (left out when 443) and the same path and query. Null for a Host
 * header that is no host name or address, which is answered 400 rather than echoed back, and
 * for a target that is neither a path nor absolute-form (`*`, userinfo, no host).
 *
 * An absolute-form target (`http://other/x?y`, as proxies send it) gives its path and query
 * only: the host is still the Host header's. RFC 9112 §3.2.2 would take the target's
 * authority, but a cache or proxy in front keys on Host, and a Location to wherever the
 * target names could be kept for everyone asking for that Host.
 */
export function httpsLocation(
  host: string | undefined,
  url: string | undefined,
  httpsPort: number,
): string | null {
  if (!host || !url) return null;
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    const origin = originFormOf(url);
    if (typeof origin !== 'string') return null;
    url = origin;
  }
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(host);
  const name = m?.[1];
  if (!name || !(HOST_NAME.test(name) || (HOST_IPV6.test(name) && isIPv6(name.slice(1, -1))))) return null;
  return `https://${name.toLowerCase()}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`;
}

/**
 * A plain-HTTP server that sends every request to the same address over HTTPS (308, which
 * keeps the method), as a web server's port 80 does once a site is served over TLS. It serves
 * nothing itself, and takes the content server's limits (slow heads, header sizes);
 * `onRequest` sees each request first.
 */
export function createHttpsRedirectServer(
  httpsPort: () => number,
  limits: ServerLimits,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void = () => undefined,
): Server {
  const server = createServer(serverOptions(limits), (req: IncomingMessage, res: ServerResponse) => {
    // The access log's hook: a redirect is a request a reader made, logged as nginx's port 80 logs it.
    onRequest(req, res);
    // One Host, as the HTTPS port wants it (RFC 9112 §3.2): with two, which one a cache keys on is anyone's guess.
    const location = hostCount(req) === 1 ? httpsLocation(req.headers.host, req.url, httpsPort()) : null;
    const body = location
      ? ''
      : JSON.stringify({
          type: 'about:blank',
          title: 'Bad Request',
          status: 400,
          detail: 'bad Host header or request target',
        });
    res.writeHead(location ? 308 : 400, {
      ...(location ? { location } : { 'content-type': 'application/problem+json' }),
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  });
  applyServerLimits(server, limits);
  return server;
}

/** How many Host fields the request carries. */
function hostCount(req: IncomingMessage): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') n++;
  return n;
}
