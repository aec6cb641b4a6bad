import type { FastifyInstance, FastifyReply } from 'fastify';

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

/** Makes every error and every unknown route answer with a problem body, never HTML or a stack. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, 404, 'Not Found', `no route for ${req.method} ${req.url}`),
  );
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ err: err.message }, 'request refused');
    return sendProblem(
      reply,
      status,
      status >= 500 ? 'Internal Server Error' : 'Bad Request',
      status >= 500 ? undefined : err.message,
    );
  });
}
