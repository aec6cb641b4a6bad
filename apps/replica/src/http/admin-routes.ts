import { API_PREFIX, type FetchingAhead, type ReplicaStatus } from '@outpost/protocol';
import { type AcceptedTokens, requireBearer, sendProblem } from '@outpost/service';
import type { FastifyInstance } from 'fastify';
import type { SyncEngine } from '../sync/sync-engine.js';

export interface ReplicaAdminDeps {
  name: string;
  region: string;
  engine: SyncEngine;
  adminToken: AcceptedTokens;
  /** What is fetched ahead of a version the master still cuts (see Prefetcher), when it runs. */
  prefetch?: { readonly ahead: FetchingAhead | null } | undefined;
}

/** Health, readiness and sync status of a replica. */
export function registerAdminRoutes(app: FastifyInstance, d: ReplicaAdminDeps): void {
  app.get('/_outpost/healthz', async () => ({ status: 'ok' }));
  app.get('/_outpost/readyz', async (_req, reply) => {
    const v = d.engine.snapshot.version;
    return v > 0
      ? { status: 'ready', version: v }
      : sendProblem(reply, 503, 'Service Unavailable', 'no complete version held yet');
  });
  app.get(`${API_PREFIX}/status`, { onRequest: requireBearer(d.adminToken, 'admin') }, async () =>
    replicaStatus(d),
  );
}

/** The replica's status, as GET /status and its status page show it. */
export function replicaStatus(d: Omit<ReplicaAdminDeps, 'adminToken'>): ReplicaStatus {
  const e = d.engine;
  const s = e.snapshot;
  return {
    role: 'replica',
    name: d.name,
    region: d.region,
    version: s.version,
    root: s.root,
    masterVersion: e.masterVersion,
    state: e.state,
    link: e.link,
    lastSyncAt: e.lastSyncAt === null ? null : new Date(e.lastSyncAt).toISOString(),
    error: e.problem,
    files: s.files,
    bytes: s.bytes,
    applying: e.applying,
    fetchingAhead: d.prefetch?.ahead ?? null,
  };
}
