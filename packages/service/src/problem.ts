import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allowedMethods, type RouteTable } from './route-table.js';

/** Sends an RFC 9457 problem body. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  title: string,
  detail?: string,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, ...(detail === undefined ? {} : { detail }) });
}

/** The reason phrase of a status, as a problem's title (413 is "Payload Too Large", not "Bad Request"). */
export const statusTitle = (status: number): string => STATUS_CODES[status] ?? 'Error';

/**
 * Fastify's own refusals before any route runs (a target that does not decode, a parameter
 * past its length): a problem body like every other error, not fastify's JSON shape.
 */
export function frameworkProblem(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  sendProblem(reply, status, statusTitle(status), err.message);
}

/** Makes every error and every unknown route answer with a problem body, never HTML or a stack. */
export function installProblemHandlers(app: FastifyInstance): void {
  // Routes added after this call are known to the not-found handler, so that a known path
  // asked with another method is answered 405 with Allow, as RFC 9110 §15.5.6 wants.
  const routes: RouteTable = [];
  app.addHook('onRoute', (r) => {
    routes.push({ methods: ([] as string[]).concat(r.method), url: r.url });
  });
  app.setNotFoundHandler((req, reply) => {
    const allow = allowedMethods(routes, req.url);
    if (allow.length === 0)
      return sendProblem(reply, 404, 'Not Found', `no route for ${req.method} ${req.url}`);
    reply.header('Allow', allow.join(', '));
    return sendProblem(
      reply,
      405,
      'Method Not Allowed',
      `${req.method} is not allowed here; use ${allow.join(' or ')}`,
    );
  });
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ err: err.message }, 'request refused');
    return sendProblem(
      reply,
      status,
      status >= 500 ? 'Internal Server Error' : statusTitle(status),
      status >= 500 ? undefined : err.message,
    );
  });
}
