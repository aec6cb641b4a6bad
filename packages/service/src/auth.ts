import { ConfigError } from '@outpost/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerIndex } from './bearer.js';
import { sendProblem } from './problem.js';
import { RefusalLog } from './refusal-log.js';

/**
 * The tokens a guard accepts: one, none (undefined: no guard), or the current one first and,
 * during a rotation, the one being retired after it (undefined entries are left out).
 */
export type AcceptedTokens = string | readonly (string | undefined)[] | undefined;

/** The accepted tokens as a list, the current one first; empty when there is no guard. */
export function acceptedTokens(t: AcceptedTokens): string[] {
  return (typeof t === 'string' ? [t] : (t ?? [])).filter((x): x is string => x !== undefined);
}

/** How often a guard says that a client still presents the token being retired. */
const PREVIOUS_TOKEN_WARN_MS = 60_000;

/**
 * An onRequest hook (before the body is read: a stranger gets 401, not a parse error) that wants `Authorization: Bearer <token>` (any of the accepted ones), or lets
 * everyone in when no token is set. A client presenting the token being retired is let in and
 * named in a warning (once a minute), so the admin can find it before the old token goes.
 */
export function requireBearer(token: AcceptedTokens, realm: string) {
  const accepted = acceptedTokens(token);
  return bearerGuard((header) => (accepted.length === 0 ? 0 : bearerIndex(header, accepted)), realm);
}

/**
 * requireBearer's hook around any check of the Authorization header: `check` says -1 for no
 * accepted token, 0 for the current one (or none needed), more for one being retired.
 */
export function bearerGuard(check: (header: string | undefined) => number, realm: string) {
  let warnedAt = 0;
  const refusals = new RefusalLog();
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const i = check(req.headers.authorization);
    if (i > 0 && Date.now() - warnedAt >= PREVIOUS_TOKEN_WARN_MS) {
      warnedAt = Date.now();
      req.log.warn(
        { remote: req.ip, url: req.url, userAgent: req.headers['user-agent'] },
        `${realm}: a client presents the previous token; give it the current one before the previous is unset`,
      );
    }
    if (i >= 0) return;
    const refused = refusals.note(req.ip);
    if (refused > 0)
      req.log.warn(
        { remote: req.ip, url: req.url, userAgent: req.headers['user-agent'], refused },
        `${realm}: wrong or missing token${refused > 1 ? ` (${refused} refusals of this client since the last line)` : ''}`,
      );
    reply.header('WWW-Authenticate', `Bearer realm="${realm}"`);
    return sendProblem(reply, 401, 'Unauthorized', `a valid ${realm} token is required`);
  };
}

/**
 * A token and, during a rotation, the one being retired, the current one first; a
 * ConfigError when only the old one is set. `variable` names them in the message.
 */
export function rotatingTokens(
  current: string | undefined,
  previous: string | undefined,
  variable: { name: string; what: string },
): AcceptedTokens {
  if (previous !== undefined && current === undefined) {
    const prev = variable.name.replace(/^OUTPOST_/, 'OUTPOST_PREVIOUS_');
    throw new ConfigError(
      `${prev} is set without ${variable.name}: in a rotation, ${variable.name} is the new ${variable.what} and ${prev} the one being retired`,
    );
  }
  return [current, previous];
}

/** The admin tokens a service accepts (OUTPOST_ADMIN_TOKEN, and OUTPOST_PREVIOUS_ADMIN_TOKEN in a rotation). */
export function adminTokensOf(c: {
  adminToken?: string | undefined;
  previousAdminToken?: string | undefined;
}): AcceptedTokens {
  return rotatingTokens(c.adminToken, c.previousAdminToken, {
    name: 'OUTPOST_ADMIN_TOKEN',
    what: 'admin token',
  });
}
