import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Server as TlsServer } from 'node:tls';
import { CompressionChoice, TokenBucket } from '@outpost/core';
import {
  CloseCodes,
  ConfigError,
  formatAdvertise,
  isConcreteIp,
  PREFETCH_FEATURE,
  PREFETCH_LATER_FEATURE,
  PROTOCOL_VERSION,
  type ReplicaConfig,
  type ReplicaConfigInput,
  ReplicaConfigSchema,
} from '@outpost/protocol';
import {
  adminTokensOf,
  baseFastifyOptions,
  clientErrorAnswerer,
  closeDraining,
  createLogger,
  createMetricsRegistry,
  holdLeanHeapFor,
  installProblemHandlers,
  type Logger,
  loadTls,
  noteCertificate,
  registerMetricsRoute,
  registerStatusPage,
  releaseMemory,
  reloadTls,
  tlsPaths,
  trackHandshakes,
} from '@outpost/service';
import {
  BulkCheckpoints,
  markCleanShutdown,
  openRenewingDamaged,
  pruneSteps,
  Scrubber,
  type Store,
  storeFootprint,
} from '@outpost/store';
import Fastify, { type FastifyInstance } from 'fastify';
import { AccessLog } from './http/access-log.js';
import { registerAdminRoutes, replicaStatus } from './http/admin-routes.js';
import { createContentHandler } from './http/content-handler.js';
import { type Answered, installDirectLane } from './http/direct-lane.js';
import { createHttpsRedirectServer } from './http/https-redirect.js';
import { LoadMeter } from './http/load-meter.js';
import { answerConnect, answerExpectation, refuse, refuseVersion, replicaHeaders } from './http/refusals.js';
import { renderReplicaPage } from './http/render-status-page.js';
import { registerReplicaMetrics } from './http/replica-metrics.js';
import { requestProblem } from './http/request-guard.js';
import { applyServerLimits, DEFAULT_LIMITS, serverOptions } from './http/server-limits.js';
import { parseCacheRules } from './serve/cache-control.js';
import { Precompressor } from './serve/precompressor.js';
import { originFormOf } from './serve/request-path.js';
import { makeSnapshot, type Snapshot } from './serve/snapshot.js';
import { StoreFault } from './store-fault.js';
import type { ApplyDeps } from './sync/apply-manifest.js';
import { backoffDelay } from './sync/backoff.js';
import { fetchChunkBatch, fetchChunkList, fetchVerifiedChunk } from './sync/chunk-fetcher.js';
import { ChunkRepair } from './sync/chunk-repair.js';
import { LinkTrouble } from './sync/link-trouble.js';
import { replicaUserAgent } from './sync/master-headers.js';
import { Prefetcher } from './sync/prefetcher.js';
import { PullError, pullManifest } from './sync/pull-client.js';
import { PushLink } from './sync/push-link.js';
import { StartupSweep } from './sync/startup-sweep.js';
import { type ApplyOutcome, SyncEngine } from './sync/sync-engine.js';

export interface Replica {
  readonly config: ReplicaConfig;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly engine: SyncEngine;
  readonly log: Logger;
  /** Starts serving and syncing; resolves to the URL readers use. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /**
   * What SIGHUP asks for: reads --tls-cert and --tls-key again (after a renewal) and opens the
   * access log again (after logrotate); says so when there is neither. Resolves when done.
   */
  reload(): Promise<void>;
}

const ADMIN_PREFIX = '/_outpost/';
/** `/_outpost` without its slash (a top-level name no version may hold): redirected to the dashboard. */
const isAdminRoot = (url: string | undefined) =>
  url === '/_outpost' || url?.startsWith('/_outpost?') === true;
/** A tree this large leaves enough garbage when loaded to collect it at once. */
const LARGE_TREE = 10_000;

/** The version a store holds, loaded as the snapshot readers are served from. */
function loadHeld(store: Store, log: Logger): Snapshot {
  const held = store.versions.current();
  const heldFiles = store.versions.get(held.version)?.files ?? 0;
  // A large tree is loaded on a lean heap, as a manifest that large is applied on one.
  const releaseLean = holdLeanHeapFor(heldFiles);
  try {
    const snapshot = makeSnapshot(held.version, store.versions.liveTree().values());
    if (snapshot.root !== held.root) {
      // The master sees this root in the hello, finds it is not its version's, and sends a full manifest.
      log.error(
        { version: held.version, stored: held.root, computed: snapshot.root },
        'held tree does not give its root',
      );
    }
    // Loading a large tree leaves its query rows behind as garbage: hand it back at once.
    if (snapshot.files >= LARGE_TREE) releaseMemory();
    return snapshot;
  } finally {
    releaseLean();
  }
}

/** Builds a replica from its configuration; nothing listens or connects until start(). */
export function buildReplica(input: ReplicaConfigInput, opts: { log?: Logger } = {}): Replica {
  const config = ReplicaConfigSchema.parse(input);
  // Certificate files that cannot be used stop the start before the store is opened.
  const tls = tlsPaths(config);
  const tlsMaterial = tls && loadTls(tls);
  const adminTokens = adminTokensOf(config);
  if (config.httpRedirectPort !== undefined && !tls) {
    throw new ConfigError('--http-redirect-port sends readers to HTTPS: it needs --tls-cert and --tls-key');
  }
  const log = opts.log ?? createLogger('replica', config.logLevel).child({ replica: config.name });
  if (tls && tlsMaterial) noteCertificate(tlsMaterial, tls, log, 'serving HTTPS');
  const accessLog = config.accessLog
    ? new AccessLog(config.accessLog, config.accessLogFormat, log)
    : undefined;
  const master = config.master.replace(/\/+$/, '');
  // What a replica holds can always be fetched again: a store found damaged as it is opened
  // and read (a disk error, a copy taken mid-write) is moved aside and a new one synced, where
  // the replica used to exit with a stack trace, and a supervisor restarted it for ever.
  const storeFile = join(resolve(config.data), 'replica.sqlite');
  let opened: ReturnType<typeof openRenewingDamaged<Snapshot>>;
  try {
    opened = openRenewingDamaged(
      storeFile,
      'replica',
      (s) => loadHeld(s, log),
      (err, movedTo) =>
        log.error(
          { err: err.message, movedTo },
          'the store is damaged: moved aside (delete it once looked at); syncing anew from the master',
        ),
    );
  } catch (err) {
    // A store in use by another replica fails the build: the log file opened for it is let go.
    accessLog?.close().catch((closeErr) => log.warn({ err: closeErr }, 'closing the access log failed'));
    throw err;
  }
  const store = opened.store;
  const fault = new StoreFault(storeFile, log);
  const trouble = new LinkTrouble(log, master);
  const storeError = (err: unknown, where: string) => fault.report(err, where);
  let current: Snapshot = opened.value;
  const meter = new LoadMeter();

  const inUse = new Map<string, number>();
  // One limit for every fetch of this replica, however many batches run at once.
  const limiter = config.maxRate > 0 ? new TokenBucket(config.maxRate) : undefined;
  // The master paces batches too: reads alone let socket buffers fill at full speed first.
  const pace = config.maxRate > 0 ? { maxRate: config.maxRate, name: config.name } : undefined;
  const userAgent = replicaUserAgent(config.name);
  // A stop aborts the master requests in flight: a fetch paced by --max-rate, or from a slow
  // master, held the stop up until the version was applied (17 s in a QA run, --drain-ms 10 s),
  // and a restart meanwhile found the store in use. What was fetched stays, for the next start.
  const stopping = new AbortController();
  const fetchOptions = { master, token: config.token, userAgent, limiter, signal: stopping.signal };
  const compression = new CompressionChoice({
    rawAbove: config.wireRawAbove,
    deflateBelow: config.wireRawAbove / 2,
  });
  const gauge = {
    begin: () => compression.begin(),
    end: () => compression.end(),
    arrived: (bytes: number) => {
      if (!compression.arrived(bytes)) return;
      const rate = `${((compression.lastRate ?? 0) / 1048576).toFixed(1)} MiB/s`;
      log.info(
        { rate },
        compression.deflate
          ? 'wire compression on: chunks arrive slowly'
          : 'wire compression off: chunks arrive faster than deflate packs them',
      );
    },
  };
  // Under a rate limit every byte saved is time saved, however fast the link could go.
  const askDeflate = () =>
    config.wireCompression === 'always' ||
    (config.wireCompression === 'auto' && (limiter !== undefined || compression.deflate));
  // A sync that stores more than a few megabytes checkpoints from a thread of its own while
  // it lasts (the main connection then only appends to the WAL). (The master runs none: its
  // bulk writes already come from a writer thread, and a third thread on two cores measured
  // no gain for its first publish.)
  const checkpoints = new BulkCheckpoints(store);
  // Ahead of a version the master is still reading, so its CPU, not the link, sets the pace:
  // chunks come raw (deflating them would slow its reading) unless a rate limit, the admin or a
  // link already judged slow asks otherwise; and their pace says nothing of the link's.
  const askDeflateAhead = () =>
    config.wireCompression === 'always' ||
    (config.wireCompression === 'auto' &&
      (limiter !== undefined || (compression.lastRate !== undefined && compression.deflate)));
  const batchFetcher =
    (ahead: boolean): NonNullable<ApplyDeps['fetchBatch']> =>
    (wanted, keep) =>
      fetchChunkBatch(
        wanted,
        {
          ...fetchOptions,
          compress: ahead ? askDeflateAhead() : askDeflate(),
          pace,
          gauge: config.wireCompression === 'auto' && !limiter && !ahead ? gauge : undefined,
          room: () => checkpoints.room(),
        },
        (chunks) => {
          let bytes = 0;
          for (const c of chunks) bytes += c.data.length;
          checkpoints.wrote(bytes);
          return keep(chunks);
        },
      );
  const diskSpace =
    config.minFreeSpace === 'off'
      ? undefined
      : { free: () => store.freeBytes(), reserve: config.minFreeSpace };
  // Chunks of a large change, fetched while the master still reads it.
  const prefetcher = config.prefetch
    ? new Prefetcher({ store, log, fetchBatch: batchFetcher(true), ...(diskSpace ? { diskSpace } : {}) })
    : undefined;
  let deferred: string[] = [];
  const engine = new SyncEngine({
    store,
    log,
    storeFault: fault,
    linkTrouble: trouble,
    initial: current,
    fetchChunk: (hash, size) => fetchVerifiedChunk(hash, size, fetchOptions),
    fetchChunkList: (hash) => fetchChunkList(hash, fetchOptions),
    ...(diskSpace ? { diskSpace } : {}),
    ...(prefetcher ? { prefetch: prefetcher } : {}),
    fetchBatch: batchFetcher(false),
    // The atomic switch: one assignment, and every later request reads the new version whole.
    onSwitch: (s) => {
      current = s;
    },
    // A replica keeps its current version and the one before, and whatever in-flight readers still stream.
    afterSwitch: async (s) => {
      const steps = pruneSteps(store, {
        // The version before too: a rename published as a delete and then an add (two versions)
        // finds its content still held instead of fetching it again.
        keepFrom: Math.max(1, s.version - 1),
        protect: new Set(inUse.keys()),
        retry: deferred,
      });
      try {
        for (let r = steps.next(); ; r = steps.next()) {
          if (r.done) {
            deferred = r.value.deferred;
            return;
          }
          await yieldToLoop();
        }
      } catch (err) {
        // Damage on a page the collection reads (the contents table, say) is the store's: said
        // in status, to the master (out of DNS) and marked for the next start, as a chunk read's
        // is. It had been logged after every version while status said in-sync, and the store
        // grew for want of its collection.
        if (!storeError(err, 'the collection of old versions')) throw err;
      }
    },
  });

  const precompressor = config.compress ? new Precompressor(store, log) : undefined;
  // Repairs cross the same link: under the same limit as every other fetch.
  const repair = new ChunkRepair(
    store,
    log,
    (hash, size) => fetchVerifiedChunk(hash, size, fetchOptions),
    storeError,
  );
  const scrubber =
    config.scrubBytesPerSecond > 0
      ? new Scrubber({
          store,
          repair,
          bytesPerSecond: config.scrubBytesPerSecond,
          onStoreError: storeError,
          log,
        })
      : undefined;
  const content = createContentHandler({
    name: config.name,
    store,
    log,
    current: () => current,
    cacheRules: parseCacheRules(config.cacheControl),
    dirListing: config.dirListing,
    ...(precompressor ? { precompressor } : {}),
    onDamage: (hash, size) => void repair.damaged(hash, size, 'read'),
    onStoreError: storeError,
    inUse,
  });
  let server: Server | undefined;
  let redirect: Server | undefined;
  // Plain HTTP only: a TLS connection's bytes are node:https' to read.
  const directLane = !tlsMaterial && config.directLane;
  const limits = {
    ...DEFAULT_LIMITS,
    keepAliveTimeoutMs: config.keepAliveMs,
    headersTimeoutMs: config.headersTimeoutMs,
  };
  // Every answer of the replica says who gives it, even to a request it could not read.
  const answerer = { name: config.name, version: () => current.version };
  const app: FastifyInstance = Fastify({
    ...baseFastifyOptions(log),
    clientErrorHandler: clientErrorAnswerer({ headers: () => replicaHeaders(answerer), allow: 'GET, HEAD' }),
    // Everything outside /_outpost/ is the content tree and bypasses fastify's routing.
    // Only the protocol of the addresses fastify names: the server below is ours.
    ...(tlsMaterial ? { https: tlsMaterial } : {}),
    serverFactory: (handler) => {
      const serve = (req: IncomingMessage, res: ServerResponse) => {
        meter.request();
        accessLog?.track(req, res);
        // HTTP/2.0 (or 0.9) spoken to an HTTP/1 server: node:http parses it, nginx answers 505.
        if (req.httpVersionMajor !== 1) return refuseVersion(res, answerer);
        const problem = requestProblem(req);
        if (problem) return refuse(res, problem, answerer);
        // An absolute-form target (as proxies send it) is routed by its path, admin paths too.
        if (req.url !== undefined && req.url.charCodeAt(0) !== 47 /* '/' */) {
          const origin = originFormOf(req.url);
          if (typeof origin === 'string') req.url = origin;
        }
        if (req.url?.startsWith(ADMIN_PREFIX) || isAdminRoot(req.url)) handler(req, res);
        else content(req, res);
      };
      // An Expect other than 100-continue never reaches `serve`: node:http asks this instead.
      const expectation = (req: IncomingMessage, res: ServerResponse) => {
        meter.request();
        accessLog?.track(req, res);
        const problem = requestProblem(req);
        if (problem) refuse(res, problem, answerer);
        else answerExpectation(req, res, answerer);
      };
      server = tlsMaterial
        ? createHttpsServer(
            // A TLS handshake that never ends is a slowloris too.
            { ...serverOptions(limits), ...tlsMaterial, handshakeTimeout: limits.headersTimeoutMs },
            serve,
          )
        : createServer(serverOptions(limits), serve);
      if (tlsMaterial) trackHandshakes(server as unknown as TlsServer);
      if (directLane) {
        installDirectLane(server, {
          // The replica's own endpoints are fastify's.
          answer: (head) =>
            head.target.startsWith(ADMIN_PREFIX) || isAdminRoot(head.target) ? null : content.quick(head),
          limits,
          onRequest: () => meter.request(),
          ...(accessLog ? { onAnswered: (a: Answered) => accessLog.recordDirect(a) } : {}),
        });
      }
      server.on('checkExpectation', expectation);
      server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
        meter.request();
        answerConnect(socket, answerer);
      });
      applyServerLimits(server, limits);
      return server;
    },
  });
  installProblemHandlers(app);
  registerAdminRoutes(app, {
    name: config.name,
    region: config.region,
    engine,
    prefetch: prefetcher,
    adminToken: adminTokens,
  });
  const metrics = createMetricsRegistry({ service: 'replica', replica: config.name, region: config.region });
  const counters = () => ({
    requests: meter.total,
    openConnections: meter.open,
    damagedFound: repair.found,
    damagedRepaired: repair.repaired,
    scrubbed: scrubber?.checked ?? 0,
  });
  registerReplicaMetrics(metrics, {
    engine,
    counters,
    storeDamaged: () => fault.message !== null,
    storeFootprint: () => storeFootprint(store.db, store.path),
    ...(prefetcher ? { prefetch: prefetcher } : {}),
  });
  registerMetricsRoute(app, metrics, adminTokens);
  registerStatusPage(app, {
    adminToken: adminTokens,
    heading: `replica ${config.name} (${config.region})`,
    // Names are labels (letters, digits, hyphens): fit for a cookie name as they are.
    cookie: `outpost_replica_${config.name}`,
    render: () =>
      renderReplicaPage(
        replicaStatus({ name: config.name, region: config.region, engine, prefetch: prefetcher }),
        counters(),
      ),
    footer: "This replica's own view; the master's page shows the whole fleet.",
  });

  // --- keeping in sync: push when the link is up, pull while it is not, retry on failure ---
  let pullTimer: NodeJS.Timeout | undefined;
  let pulling: Promise<void> | null = null;
  let failures = 0;
  let stopped = false;

  const afterOutcome = (o: ApplyOutcome, source: 'push' | 'pull') => {
    // The load is over, or was never one; a manifest in parts goes on.
    if (o.kind !== 'partial') void checkpoints.end();
    // The start's sweep waits for the version the master has (or a need for room): until then
    // what no version names is a download cut short, fetched on from where it stopped.
    if (
      o.kind === 'applied' ||
      (o.kind === 'current' && o.version >= (engine.masterVersion ?? 0)) ||
      (o.kind === 'failed' && o.noRoom)
    )
      sweep.release();
    if (o.kind === 'applied') {
      failures = 0;
      push.send({ type: 'ack', version: o.version, root: o.root });
    } else if (o.kind === 'current' && source === 'push') {
      // Pushed a version it holds already (a pull took it in while the push link came up,
      // after its hello named the one before): the master waits for this ACK, or shows it
      // behind for ever. (A late pull of it says nothing the master waits for.)
      push.send({ type: 'ack', version: o.version, root: o.root });
    } else if (o.kind === 'failed') {
      push.send({ type: 'nack', version: o.version, reason: o.reason.slice(0, 2000) });
      schedulePull(backoffDelay(failures++, config.reconnectMinMs, config.reconnectMaxMs));
    } else if (o.kind === 'gap') {
      schedulePull(0);
    } else if (o.kind === 'ignored') {
      log.debug({ version: o.version, reason: o.reason }, 'manifest part ignored');
    }
  };

  /** Where readers reach us, said in the hello and with each pull (set at start when not given). */
  let advertise = config.advertise;
  const pullOnce = async () => {
    try {
      const target = {
        ...fetchOptions,
        name: config.name,
        region: config.region,
        fault: fault.message,
        advertise,
      };
      const held = { version: current.version, root: current.root };
      let m = await pullManifest(target, held, { part: 0 }).catch((err: unknown) => {
        // The pull says why better than a WebSocket can ("Unexpected server response: 404").
        if (!push.up) trouble.failed(err);
        throw err;
      });
      trouble.reached();
      if (!push.up) engine.link = 'pull';
      let outcome = await engine.offer(m, 'pull');
      // A large manifest comes part by part, each asked for once the one before is taken in.
      while (outcome.kind === 'partial' && m.part) {
        m = await pullManifest(target, held, { part: outcome.next, to: m.version });
        outcome = await engine.offer(m, 'pull');
      }
      afterOutcome(outcome, 'pull');
    } catch (err) {
      engine.dropParts('pull');
      if (!push.up) engine.link = 'offline';
      if (err instanceof PullError && err.status === 401) engine.error = 'master refused our token (401)';
      else if (err instanceof PullError && err.status === 403)
        engine.error = `master refused us (403): ${err.detail ?? err.message}`;
      log.debug({ err: (err as Error).message }, 'pull failed');
    }
  };

  /** Pulls after a delay; unless `replace`, a pull already scheduled (say, a backoff) stands. */
  function schedulePull(delayMs: number, replace = true) {
    if (stopped || (!replace && pullTimer !== undefined)) return;
    clearTimeout(pullTimer);
    pullTimer = setTimeout(() => {
      pullTimer = undefined;
      if (pulling) return schedulePull(50);
      pulling = pullOnce().finally(() => {
        pulling = null;
        // While the push link is down, pulling is how we keep up.
        if (!push.up) schedulePull(config.pollMs);
      });
    }, delayMs);
  }

  const push: PushLink = new PushLink({
    master,
    fault: () => fault.message,
    token: config.token,
    userAgent,
    limiter,
    log,
    heartbeatMs: config.heartbeatMs,
    reconnectMinMs: config.reconnectMinMs,
    reconnectMaxMs: config.reconnectMaxMs,
    hello: () => ({
      protocol: PROTOCOL_VERSION,
      name: config.name,
      region: config.region,
      version: current.version,
      root: current.root,
      ...(advertise ? { advertise } : {}),
      ...(prefetcher ? { features: [PREFETCH_FEATURE, PREFETCH_LATER_FEATURE] } : {}),
    }),
    load: () => meter.read(),
    onUp: (welcome) => {
      trouble.reached();
      engine.link = 'push';
      engine.heard(welcome.version);
      if (welcome.version === current.version && welcome.root === current.root) {
        engine.error = null;
        // Holding the master's version already (a restart after a crash, in sync): what no
        // version names is litter now. No manifest comes to say so, and the sweep waited for good.
        sweep.release();
      }
    },
    onDown: (reason) => {
      // The rest of a manifest coming in parts over this link will not come.
      engine.dropParts('push');
      if (reason.includes('401')) engine.error = 'master refused our token (401)';
      // Our own token, but another replica's, or revoked.
      else if (reason.startsWith(`closed ${CloseCodes.unauthorized}:`))
        engine.error = `master refused our token: ${reason.slice(`closed ${CloseCodes.unauthorized}: `.length)}`;
      // Pull at once: maybe only the WebSocket is blocked, and the pull API still answers.
      if (!pulling) schedulePull(0);
    },
    onMessage: (msg) => {
      if (msg.type === 'publish') {
        const done = engine.offer(msg, 'push').then((o) => afterOutcome(o, 'push'));
        // A part of a large manifest holds the link until it is taken in.
        if (msg.part) return done;
      } else if (msg.type === 'prefetch') {
        prefetcher?.offer(msg.version, msg.chunks);
      } else if (msg.type === 'prefetch-later') {
        prefetcher?.later(msg.from, msg.to);
      } else if (msg.type === 'pong') {
        engine.heard(msg.version);
        // A push we never got (or one that failed): catch up by pull once idle.
        if (msg.version > current.version && !pulling && !engine.busy)
          schedulePull(config.heartbeatMs, false);
      }
    },
  });

  const sweep = new StartupSweep({
    store,
    log,
    exclusive: (job) => engine.exclusive(job),
    busy: () => engine.busy,
    inUse,
    trouble: (message) => {
      engine.storeTrouble = message;
    },
    done: () => prefetcher?.start(),
  });

  return {
    config,
    app,
    store,
    engine,
    log,
    async start() {
      const url = await app.listen({ host: config.host, port: config.port });
      if (server) meter.attach(server);
      // Readers reach us where we listen, unless told otherwise (a wildcard address says nothing).
      const bound = server?.address();
      if (!advertise && isConcreteIp(config.host) && bound && typeof bound === 'object')
        advertise = formatAdvertise(config.host, bound.port);
      // Listening on every address (the shipped unit's --host 0.0.0.0) names none: the master's
      // DNS left such a replica out, and only the master's status said why.
      if (!advertise)
        log.warn(
          { host: config.host },
          `--host ${config.host} names no address readers can reach: the master's DNS cannot answer with this replica; give --advertise IP:PORT (OUTPOST_ADVERTISE)`,
        );
      if (config.httpRedirectPort !== undefined) {
        redirect = createHttpsRedirectServer(
          () => (bound && typeof bound === 'object' ? bound.port : 443),
          limits,
          (req, res) => accessLog?.track(req, res),
        );
        // once() rejects with the listen error (a port in use), as fastify's listen does.
        await once(redirect.listen(config.httpRedirectPort, config.host), 'listening');
        const at = redirect.address();
        log.info(
          { port: typeof at === 'object' && at ? at.port : config.httpRedirectPort },
          'redirecting plain HTTP to HTTPS',
        );
      }
      log.info({ url, version: current.version, master, directLane }, 'outpost replica listening');
      // What a crash may have left unreferenced is swept once the replica holds the master's
      // version (after a clean stop there is none): before, it is the download to take up. On a
      // full disk the sweep fails: the replica serves on, says so in status, and tries again
      // later (see StartupSweep).
      // Nothing is fetched ahead before that sweep is done: it would take such chunks for litter.
      sweep.start();
      push.start();
      scrubber?.start();
      return url;
    },
    async stop() {
      stopped = true;
      stopping.abort(new Error('the replica is stopping'));
      scrubber?.stop();
      clearTimeout(pullTimer);
      // Readers first: from now on no answer says keep-alive. Mid-downloads may finish, for a while.
      const draining = closeDraining(app, config.drainMs, log);
      await push.stop();
      await pulling;
      if (redirect) {
        const r = redirect;
        await new Promise<void>((done) => {
          r.close(() => done());
          r.closeAllConnections();
        });
      }
      await draining;
      await accessLog?.close();
      await precompressor?.close();
      // Chunks fetched ahead of a version not yet had are dropped: no start needs to sweep for them.
      if (!engine.busy) prefetcher?.discard();
      // An apply cut short may have stored chunks no version names (or the start's sweep is
      // still to be done): then the next start sweeps.
      sweep.stop();
      if (!engine.busy && engine.error === null && !engine.leftovers && !sweep.pending)
        markCleanShutdown(store);
      await checkpoints.end();
      store.close();
      store.lock.release();
    },
    async reload() {
      if (!tls && !accessLog) {
        log.info('SIGHUP: nothing to reload (no --tls-cert, no --access-log)');
        return;
      }
      if (tls && server) reloadTls(server as unknown as TlsServer, tls, log);
      if (accessLog) {
        try {
          await accessLog.reopen();
          log.info({ path: config.accessLog }, 'access log opened again');
        } catch (err) {
          log.error(
            { err: (err as Error).message, path: config.accessLog },
            'access log not opened again; lines go on to the file open before',
          );
        }
      }
    },
  };
}
