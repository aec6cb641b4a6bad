import { describeNames, describeReplicas, type ZoneView } from '@outpost/dns';
import { API_PREFIX, type DnsStatus } from '@outpost/protocol';
import { type AcceptedTokens, requireBearer, sendProblem } from '@outpost/service';
import type { FastifyInstance } from 'fastify';

export interface DnsRouteDeps {
  adminToken: AcceptedTokens;
  /** Null when the master serves no zone. */
  dns: null | {
    view: () => ZoneView;
    listen: () => { udp: string | null; tcp: string | null };
    counters: () => Record<string, number>;
  };
}

/** GET /dns: what each name answers now, and why each replica is in or out. */
export function registerDnsRoutes(app: FastifyInstance, d: DnsRouteDeps): void {
  app.get(`${API_PREFIX}/dns`, { onRequest: requireBearer(d.adminToken, 'admin') }, async (_req, reply) => {
    if (!d.dns)
      return sendProblem(reply, 404, 'Not Found', 'this master serves no DNS zone (start it with --zone)');
    const view = d.dns.view();
    const s = view.settings;
    const body: DnsStatus = {
      zone: s.zone,
      ttl: s.ttl,
      mode: s.mode,
      maxLag: s.maxLag,
      fallback: s.fallback,
      listen: d.dns.listen(),
      names: describeNames(view),
      replicas: describeReplicas(view),
      counters: d.dns.counters(),
    };
    return body;
  });
}
