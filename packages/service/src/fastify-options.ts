import { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import { frameworkProblem } from './problem.js';

/** Fastify options both services share: our pino logger, no per-request log lines, small bodies. */
export function baseFastifyOptions(log: Logger) {
  return {
    loggerInstance: log as FastifyBaseLogger,
    // Per-request lines would drown the log on a busy replica; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    frameworkErrors: frameworkProblem,
  };
}
