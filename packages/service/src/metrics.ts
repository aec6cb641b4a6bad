import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { requireBearer } from './auth.js';

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
export function registerMetricsRoute(
  app: FastifyInstance,
  registry: Registry,
  adminToken: string | undefined,
) {
  app.get('/_outpost/metrics', { preHandler: requireBearer(adminToken, 'admin') }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

type Labels = Record<string, string | number>;

/** A gauge read when scraped: `read` gives its series (labels → value), nothing is kept between scrapes. */
export function scrapedGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | [Labels, number][],
  labelNames: string[] = [],
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.set(v);
      else for (const [labels, value] of v) this.set(labels, value);
    },
  });
}

/** A counter kept elsewhere (a plain integer on a hot path), read when scraped. */
export function scrapedCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | [Labels, number][],
  labelNames: string[] = [],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.inc(v);
      else for (const [labels, value] of v) this.inc(labels, value);
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
