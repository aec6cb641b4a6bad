import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerMatches } from './bearer.js';
import { sendProblem } from './problem.js';

/** A preHandler that wants `Authorization: Bearer <token>`, or lets everyone in when no token is set. */
export function requireBearer(token: string | undefined, realm: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (token === undefined) return;
    if (bearerMatches(req.headers.authorization, token)) return;
    req.log.warn({ remote: req.ip, url: req.url }, `${realm}: wrong or missing token`);
    reply.header('WWW-Authenticate', `Bearer realm="${realm}"`);
    return sendProblem(reply, 401, 'Unauthorized', `a valid ${realm} token is required`);
  };
}
