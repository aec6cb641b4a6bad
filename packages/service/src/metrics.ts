import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type AcceptedTokens, requireBearer } from './auth.js';

export type { Registry } from 'prom-client';

/**
 * A metrics registry of one service's own (two services in one process, as in tests, never
 * mix), with the process's metrics: CPU, memory, event-loop lag, GC, handles.
 */
export function createMetricsRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** GET /_outpost/metrics in Prometheus' text format, behind the admin token when one is set. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry, adminToken: AcceptedTokens) {
  app.get('/_outpost/metrics', { onRequest: requireBearer(adminToken, 'admin') }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

type Labels = Record<string, string | number>;
/** What a scraped metric reads: one value, or its series (labels → value). */
type Read = () => number | [Labels, number][];

const series = (read: Read): [Labels, number][] => {
  const v = read();
  return typeof v === 'number' ? [[{}, v]] : v;
};

/** A gauge read when scraped: nothing is kept between scrapes, so a series gone is gone. */
export function scrapedGauge(
  registry: Registry,
  name: string,
  help: string,
  read: Read,
  labelNames: string[] = [],
) {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of series(read)) this.set(labels, value);
    },
  });
}

/** A counter kept elsewhere (a plain integer on a hot path), read when scraped. */
export function scrapedCounter(
  registry: Registry,
  name: string,
  help: string,
  read: Read,
  labelNames: string[] = [],
) {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of series(read)) this.inc(labels, value);
    },
  });
}

/** One series per value of an enum, 1 for the current one and 0 for the rest (Prometheus' state-set). */
export function oneHot<T extends string>(
  values: readonly T[],
  current: T | null,
  label: string,
  extra: Labels = {},
): [Labels, number][] {
  return values.map((v) => [{ ...extra, [label]: v }, v === current ? 1 : 0]);
}
