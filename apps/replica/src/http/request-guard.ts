import type { IncomingMessage } from 'node:http';

/**
 * Why a request that node:http accepted must still be refused, or null. These are shapes
 * RFC 9112 says to reject, which a proxy in front of us might read differently from us.
 */
export function requestProblem(req: IncomingMessage): string | null {
  const te = req.headers['transfer-encoding'];
  // A transfer coding other than a final "chunked" leaves the body's end unknowable (§6.3).
  if (te !== undefined && !/^(?:[\w-]+\s*,\s*)*chunked$/i.test(te.trim()))
    return 'unsupported Transfer-Encoding';
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.length === 4 && req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  }
  // Exactly one Host (§3.2). node:http can check that there is one (requireHostHeader), but
  // answers a bare 400 of its own; here the answer is the replica's, as for every refusal.
  if (hosts > 1) return 'more than one Host header';
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) return 'no Host header';
  return null;
}
