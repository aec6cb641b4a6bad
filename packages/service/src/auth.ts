import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerIndex } from './bearer.js';
import { sendProblem } from './problem.js';

/**
 * A preHandler that wants `Authorization: Bearer <token>` (any of several, during a rotation),
 * or lets everyone in when no token is set.
 */
export function requireBearer(token: string | readonly (string | undefined)[] | undefined, realm: string) {
  const accepted = (typeof token === 'string' ? [token] : (token ?? [])).filter(
    (t): t is string => t !== undefined,
  );
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (accepted.length === 0) return;
    if (bearerIndex(req.headers.authorization, accepted) >= 0) return;
    req.log.warn({ remote: req.ip, url: req.url }, `${realm}: wrong or missing token`);
    reply.header('WWW-Authenticate', `Bearer realm="${realm}"`);
    return sendProblem(reply, 401, 'Unauthorized', `a valid ${realm} token is required`);
  };
}
