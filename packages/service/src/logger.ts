import { type Logger, pino } from 'pino';

/** The structured logger of a service: JSON lines on stdout, one field naming the service. */
export function createLogger(service: string, level: string): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
