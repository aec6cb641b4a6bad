import { comparePaths } from '@outpost/core';
import {
  API_PREFIX,
  type ForgetReplicaResponse,
  issueText,
  type MasterStatus,
  PROBLEMS_IN_STATUS,
  type ProblemList,
  ReplicaParamsSchema,
  RollbackRequestSchema,
  VersionParamsSchema,
  type VersionSummary,
} from '@outpost/protocol';
import { type AcceptedTokens, jsonBodyOnly, requireBearer, sendProblem } from '@outpost/service';
import type { Store } from '@outpost/store';
import type { FastifyInstance } from 'fastify';
import type { Fleet } from '../fanout/fleet.js';
import { type Publisher, VersionNotKeptError } from '../publish/publisher.js';
import { RestoreConflictError, RestoreRefusedError } from '../publish/restore-files.js';

export interface AdminDeps {
  store: Store;
  fleet: Fleet;
  publisher: Publisher;
  adminToken: AcceptedTokens;
  ready: () => boolean;
  /** Whether every directory of the content tree is watched now. */
  watching: () => boolean;
  /** What status warns of (directories not watched, damaged chunks, a token rotation under way). */
  warnings?: () => string[];
  /** The --exclude patterns. */
  exclude?: readonly string[];
}

/** Health, readiness, status and versions: what an admin asks the master. */
export function registerAdminRoutes(app: FastifyInstance, d: AdminDeps): void {
  app.get('/_outpost/healthz', async () => ({ status: 'ok' }));
  app.get('/_outpost/readyz', async (_req, reply) =>
    d.ready()
      ? { status: 'ready' }
      : sendProblem(reply, 503, 'Service Unavailable', 'initial scan in progress'),
  );

  const admin = requireBearer(d.adminToken, 'admin');
  app.get(`${API_PREFIX}/status`, { onRequest: admin }, async () => masterStatus(d));
  app.get(`${API_PREFIX}/versions`, { onRequest: admin }, async () => versionList(d.store));
  app.get(`${API_PREFIX}/problems`, { onRequest: admin }, async () => problemList(d.publisher));

  app.post(`${API_PREFIX}/rollback`, { onRequest: [admin, jsonBodyOnly] }, async (req, reply) => {
    const body = RollbackRequestSchema.safeParse(req.body);
    if (!body.success) {
      const what = req.body === undefined ? 'no body' : issueText(body.error, 'body');
      return sendProblem(reply, 400, 'Bad Request', `${what}; want a JSON body {"to": <version number>}`);
    }
    try {
      const published = await d.publisher.rollback(body.data.to);
      const cur = d.publisher.current;
      return {
        rolledBackTo: body.data.to,
        version: cur.version,
        root: cur.root,
        created: published !== null,
      };
    } catch (err) {
      if (err instanceof VersionNotKeptError) return sendProblem(reply, 404, 'Not Found', err.message);
      // The content directory in the way (409), or the store unable to give the version whole (500).
      const refused: [number, string] | null =
        err instanceof RestoreConflictError
          ? [409, 'Conflict']
          : err instanceof RestoreRefusedError
            ? [500, 'Internal Server Error']
            : null;
      if (!refused) throw err;
      return sendProblem(
        reply,
        refused[0],
        refused[1],
        `version ${body.data.to} cannot be restored: ${(err as Error).message}`,
      );
    }
  });

  app.delete(`${API_PREFIX}/replicas/:name`, { onRequest: admin }, async (req, reply) => {
    const params = ReplicaParamsSchema.safeParse(req.params);
    if (!params.success)
      return sendProblem(reply, 400, 'Bad Request', `replica name: ${params.error.issues[0]?.message}`);
    const { name } = params.data;
    const out = d.fleet.forget(name);
    if (out.outcome === 'unknown')
      return sendProblem(reply, 404, 'Not Found', `this master knows no replica named ${name}`);
    if (out.outcome === 'alive')
      return sendProblem(
        reply,
        409,
        'Conflict',
        out.link === 'push'
          ? `replica ${name} is connected: stop it first (a running replica is back at its next hello)`
          : `replica ${name} pulled lately: stop it first (a running replica is back at its next pull)`,
      );
    const r = out.record;
    req.log.info({ replica: name, region: r.region, version: r.version }, 'forgot replica');
    const body: ForgetReplicaResponse = {
      forgotten: name,
      region: r.region,
      version: r.version,
      lastSeenAt: r.lastSeenAt === null ? null : new Date(r.lastSeenAt).toISOString(),
    };
    return body;
  });

  app.get(`${API_PREFIX}/versions/:n`, { onRequest: admin }, async (req, reply) => {
    const params = VersionParamsSchema.safeParse(req.params);
    if (!params.success)
      return sendProblem(reply, 400, 'Bad Request', `version: ${params.error.issues[0]?.message}`);
    const v = d.store.versions.get(params.data.n);
    const tree = v && d.store.versions.treeAt(v.version);
    if (!v || !tree) return sendProblem(reply, 404, 'Not Found', `version ${params.data.n} is not kept`);
    const entries = [...tree.values()]
      .map(({ path, hash, size }) => ({ path, hash, size }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { version: v.version, root: v.root, entries };
  });
}

/** The master's status, as GET /status, `outpost status` and the dashboard show it. */
export function masterStatus(d: Omit<AdminDeps, 'adminToken'>): MasterStatus {
  const cur = d.publisher.current;
  return {
    role: 'master',
    version: cur.version,
    root: cur.root,
    files: cur.files,
    bytes: cur.bytes,
    // A replica whose next version was collected (one new to a master past --keep-versions) had
    // no time to count its lag from, and stayed "syncing" for ever: the first kept one is later.
    replicas: d.fleet.status(cur, (v) => d.store.versions.cutAtOrAfter(v)),
    ready: d.ready(),
    watching: d.watching(),
    publishing: publishingNow(d.publisher),
    publishFailure: publishFailureNow(d.publisher),
    problems: firstProblems(d.publisher.problems, PROBLEMS_IN_STATUS),
    problemCount: d.publisher.problems.size,
    warnings: d.warnings?.() ?? [],
    exclude: [...(d.exclude ?? [])],
  };
}

/** The first `n` refused paths as the publisher met them: status's work does not grow with them. */
function firstProblems(problems: ReadonlyMap<string, string>, n: number) {
  const out: { path: string; problem: string }[] = [];
  for (const [path, problem] of problems) {
    if (out.length === n) break;
    out.push({ path, problem });
  }
  return out;
}

/** Every refused path, in path order, as GET /problems lists them. */
export function problemList(p: Publisher): ProblemList {
  const problems = [...p.problems]
    .map(([path, problem]) => ({ path, problem }))
    .sort((a, b) => comparePaths(a.path, b.path));
  return { count: problems.length, problems };
}

/** The versions kept, newest first, as GET /versions lists them. */
export function versionList(store: Store): VersionSummary[] {
  return store.versions.list().map((v) => ({ ...v, createdAt: new Date(v.createdAt).toISOString() }));
}

/** Why the publisher's last batch failed, while its retry is pending, as status reports it. */
function publishFailureNow(p: Publisher) {
  const f = p.failure;
  return (
    f && { message: f.message, at: new Date(f.at).toISOString(), retryAt: new Date(f.retryAt).toISOString() }
  );
}

/** The publisher's batch in progress, as status reports it. */
function publishingNow(p: Publisher) {
  const now = p.publishing;
  return (
    now && { filesDone: now.filesDone, filesTotal: now.filesTotal, since: new Date(now.since).toISOString() }
  );
}
