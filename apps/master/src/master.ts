import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import { buildZoneView, describeReplicas, Responder, type ZoneView } from '@outpost/dns';
import {
  ConfigError,
  isConcreteIp,
  type MasterConfig,
  type MasterConfigInput,
  MasterConfigSchema,
} from '@outpost/protocol';
import {
  adminTokensOf,
  answerClientError,
  baseFastifyOptions,
  closeDraining,
  createLogger,
  createMetricsRegistry,
  holdLeanHeap,
  holdLeanHeapFor,
  installJsonBodyParser,
  installProblemHandlers,
  LEAN_FILES,
  type Logger,
  loadTls,
  noteCertificate,
  registerMetricsRoute,
  registerStatusPage,
  releaseMemorySoon,
  reloadTls,
  rotatingTokens,
  tlsPaths,
  trackHandshakes,
} from '@outpost/service';
import { openLockedStore, Scrubber, type Store, storeFootprint } from '@outpost/store';
import type { FSWatcher } from 'chokidar';
import Fastify, { type FastifyInstance } from 'fastify';
import { renderDashboard } from './dashboard/render-dashboard.js';
import { DnsServer } from './dns/dns-server.js';
import { FanoutServer } from './fanout/fanout-server.js';
import { Fleet } from './fanout/fleet.js';
import { readReplicaTokensFile } from './fanout/replica-tokens-file.js';
import { ReplicationAuth } from './fanout/replication-auth.js';
import { rotationWarning } from './fanout/token-rotation.js';
import { masterStatus, registerAdminRoutes, versionList } from './http/admin-routes.js';
import { registerDnsRoutes } from './http/dns-routes.js';
import { registerMasterMetrics } from './http/master-metrics.js';
import { answerAsPlainHttp, wantsWebSocket } from './http/plain-upgrade.js';
import { registerPullRoutes } from './http/pull-routes.js';
import { ChunkHealer } from './publish/chunk-healer.js';
import { laneTestHook } from './publish/lane-test-hook.js';
import { type PublishedVersion, Publisher } from './publish/publisher.js';
import { createBatcher } from './watch/batcher.js';
import { ignoreRule } from './watch/ignore-rules.js';
import { isWithin } from './watch/path-within.js';
import { RootFollower, type RootIdentity, resolveRoot } from './watch/root-follower.js';
import { WatchLimit } from './watch/watch-limit.js';
import { watchMissed, watchPermissionRefused, watchTree } from './watch/watcher.js';

export interface Master {
  readonly config: MasterConfig;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly publisher: Publisher;
  readonly log: Logger;
  /** Listens, watches and reconciles the content directory; resolves to the URL once reconciled (on a restart, before the watch is in place: see watched()), or when stop() cut it short. */
  start(): Promise<string>;
  /** Resolves once the watches are in place and the walk after them is done (or stop() cut it short). */
  watched(): Promise<void>;
  /** Stops watching, closes every link and the store. */
  stop(): Promise<void>;
  /** Resolves after the next version is published (for tools and tests). */
  onPublished(listener: (v: PublishedVersion) => void): () => void;
  /** What SIGHUP asks for: reads --tls-cert and --tls-key again (after a renewal), or says there is nothing to. */
  reload(): void;
}

/** A tree or a version this large leaves enough garbage to collect it at once. */
const LARGE_CHANGE = 10_000;

/** Builds a master from its configuration; nothing listens or watches until start(). */
export function buildMaster(input: MasterConfigInput, opts: { log?: Logger } = {}): Master {
  const config = MasterConfigSchema.parse(input);
  const log = opts.log ?? createLogger('master', config.logLevel);
  // Certificate files that cannot be used stop the start before the store is opened.
  const tls = tlsPaths(config);
  const tlsMaterial = tls && loadTls(tls);
  if (tls && tlsMaterial) noteCertificate(tlsMaterial, tls, log, 'serving HTTPS');
  const contentDir = resolve(config.content);
  // A store inside the tree it publishes would publish itself, each version a new store to
  // publish: versions without end, the store's bytes on every replica.
  if (isWithin(config.data, contentDir)) {
    throw new ConfigError(
      `--data ${resolve(config.data)} is inside --content ${contentDir}: the master would publish its own store; keep the store elsewhere`,
    );
  }
  const adminTokens = adminTokensOf(config);
  rotatingTokens(config.token, config.previousToken, { name: 'OUTPOST_TOKEN', what: 'replication token' });
  const sharedTokens = [config.token, config.previousToken];
  const ownTokens = config.replicaTokens ? readReplicaTokensFile(config.replicaTokens, sharedTokens) : null;
  const auth = new ReplicationAuth(config.token, config.previousToken, ownTokens?.tokens);
  /** Says when a tokens file lets others than its owner read the tokens in it. */
  const warnIfReadable = (file: string, readable: boolean) => {
    if (readable)
      log.warn({ file }, 'the replica tokens file is readable by others than its owner; chmod 600 it');
  };
  if (config.replicaTokens && ownTokens) warnIfReadable(config.replicaTokens, ownTokens.readableByOthers);
  const store = openLockedStore(join(resolve(config.data), 'master.sqlite'), 'master');
  // A mistyped --content would start a master that publishes nothing and says nothing. One
  // that has published keeps running instead (a mount not back yet, say): it serves what it
  // holds, and status says why it cannot publish until the directory is there.
  if (store.versions.current().version === 0 && !resolveRoot(contentDir)) {
    store.close();
    store.lock.release();
    const what = existsSync(contentDir) ? 'not a directory' : 'no such directory';
    throw new ConfigError(
      `--content ${contentDir}: ${what} (a master that has never published starts only on a directory that exists)`,
    );
  }
  // A large held tree is loaded and reconciled at the start on a lean heap, as a replica loads one.
  const heldVersion = store.versions.current().version;
  const heldFiles = store.versions.get(heldVersion)?.files ?? 0;
  const releaseLean = holdLeanHeapFor(heldFiles);
  let saveErrorLoggedAt = 0;
  const fleet = new Fleet({
    store,
    offlineAfterMs: 3 * config.heartbeatMs,
    behindAfterMs: 30_000,
    onSaveError: (err, name) => {
      // Every hello, ACK and pull writes a record: on a full disk, one line a minute says so.
      if (Date.now() - saveErrorLoggedAt < 60_000) return;
      saveErrorLoggedAt = Date.now();
      log.warn(
        { err: err.message, replica: name },
        'could not record replica status in the store; kept in memory',
      );
    },
  });
  const fanout = new FanoutServer({
    store,
    fleet,
    log,
    auth,
    heartbeatMs: config.heartbeatMs,
    onBeyond: (version) => beyond(version),
  });
  const listeners = new Set<(v: PublishedVersion) => void>();
  const ignored = ignoreRule(config.exclude);
  const publisher: Publisher = new Publisher({
    contentDir,
    store,
    log,
    exclude: config.exclude,
    settleMs: config.settleMs,
    laneBytes: config.laneMib * 1024 * 1024,
    ...laneTestHook(),
    retention: {
      versions: config.keepVersions,
      ...(config.keepDays === undefined ? {} : { days: config.keepDays }),
    },
    requeue: (path) => batcher.add(path),
    onWalkedDirs: (dirs) => watchMissedDirs(dirs),
    onStoredAhead: (version, chunks) => fanout.prefetch(version, chunks),
    onToldLater: (from, to) => fanout.prefetchLater(from, to),
    onPublished: (v) => {
      fanout.broadcast();
      for (const l of listeners) l(v);
      // Cutting a large version leaves its reads, chunk lists and plan behind as garbage,
      // which an idle master would otherwise keep indefinitely.
      if (v.changes >= LARGE_CHANGE) releaseMemorySoon();
    },
  });
  const batcher = createBatcher({
    quietMs: config.quietMs,
    maxDelayMs: config.maxDelayMs,
    // A script moving a set of files into place does it within a few milliseconds.
    gatherMs: 5,
    onBatch: (paths) => void publisher.submit(paths),
  });

  const app = Fastify({
    ...baseFastifyOptions(log),
    clientErrorHandler: answerClientError,
    // A TLS handshake that never ends holds a connection as a slow request head would.
    ...(tlsMaterial ? { https: { ...tlsMaterial, handshakeTimeout: 10_000 } } : {}),
  }) as unknown as FastifyInstance;
  if (tlsMaterial) trackHandshakes(app.server as unknown as TlsServer);
  installProblemHandlers(app);
  installJsonBodyParser(app);
  let ready = false;
  // A replica holding a version beyond this master's history gets a version cut past it, once
  // the master has reconciled: before that, its held version may be behind the directory.
  let beyondPending = 0;
  const beyond = (version: number) => {
    if (!ready) beyondPending = Math.max(beyondPending, version);
    else
      publisher
        .advancePast(version)
        .catch((err) => log.error({ err }, 'cutting a version past a replica failed'));
  };
  // Directories the system would not let the watcher watch are looked over by a rewalk this
  // often (even with --rewalk-ms 0: it is then the only way their changes are seen).
  const UNWATCHED_REWALK_MS = 30_000;
  const watchLimit = new WatchLimit({ log, onFirst: () => scheduleRewalk() });
  const rewalkEveryMs = () =>
    watchLimit.count > 0
      ? Math.min(config.rewalkMs || UNWATCHED_REWALK_MS, UNWATCHED_REWALK_MS)
      : config.rewalkMs;
  // Mends a chunk of the store found damaged from the file it came from (the path through a
  // moved content directory's link leads to where it points now).
  const healer = new ChunkHealer({ store, contentDir, log });
  // Damage at rest is found, and mended where a file still holds the bytes, before a replica
  // needs the chunk (a new replica's first sync, a rollback).
  const scrubber =
    config.scrubBytesPerSecond > 0
      ? new Scrubber({
          store,
          repair: {
            damaged: (hash) =>
              healer.check(hash).catch((err) => log.error({ err, chunk: hash }, 'mending a chunk failed')),
          },
          bytesPerSecond: config.scrubBytesPerSecond,
          onStoreError: (err, where) => healer.storeError(err, where),
          log,
        })
      : undefined;
  const statusDeps = {
    store,
    fleet,
    publisher,
    ready: () => ready,
    exclude: config.exclude,
    // Set once a crawl has put every watch in place; unset while the tree is watched anew.
    watching: () => watcher !== undefined,
    warnings: () =>
      [
        watchLimit.message(rewalkEveryMs()),
        ...healer.warnings(),
        config.previousToken === undefined
          ? null
          : rotationWarning(fleet.onPreviousToken(), fleet.notSeenSinceStart()),
      ].filter((w) => w !== null),
  };
  registerAdminRoutes(app, { ...statusDeps, adminToken: adminTokens });
  registerPullRoutes(app, {
    store,
    fleet,
    auth,
    onBeyond: (version) => beyond(version),
    healer,
  });

  // DNS: a zone view rebuilt at most every few tens of ms (eligibility moves with the clock).
  const zone = config.zone;
  const dnsHost = config.dnsHost ?? config.host;
  let dns: DnsServer | undefined;
  let dnsListen = { udp: null as string | null, tcp: null as string | null };
  const responder = new Responder();
  let view: ZoneView | undefined;
  let viewWarnedAt = 0;
  const viewMaxAgeMs = Math.min(100, config.heartbeatMs / 4);
  const zoneView = (): ZoneView => {
    const now = Date.now();
    if (view && now - view.builtAt < viewMaxAgeMs && now >= view.builtAt) return view;
    try {
      view = rebuild(now);
    } catch (err) {
      // Answer from the last good view rather than not at all (say, the store is busy), and
      // try again only after the usual interval (and log at most every 10 s).
      if (!view) throw err;
      view = { ...view, builtAt: now };
      if (now - viewWarnedAt > 10_000) {
        viewWarnedAt = now;
        log.warn({ err }, 'dns: could not rebuild the zone view; answering from the previous one');
      }
    }
    return view;
  };
  const rebuild = (now: number): ZoneView =>
    buildZoneView(
      {
        zone: zone!,
        ttl: config.dnsTtl,
        mode: config.dnsMode,
        maxLag: config.dnsMaxLag,
        heartbeatMs: config.heartbeatMs,
        fallback: config.dnsFallback,
        nsAddress: isConcreteIp(dnsHost) ? dnsHost : null,
      },
      {
        latest: publisher.current,
        createdAt: (v) => store.versions.get(v)?.createdAt,
        now,
        replicas: fleet.facts(),
      },
      // Each name's rotation carries on from the view this one replaces.
      view,
    );
  // What the DNS server answered and met: the responder's counts and the sockets'.
  const dnsCounters = () => ({ ...responder.counters, ...(dns?.counters ?? {}) });
  registerDnsRoutes(app, {
    adminToken: adminTokens,
    dns: zone
      ? {
          view: zoneView,
          listen: () => dnsListen,
          counters: dnsCounters,
        }
      : null,
  });
  const metrics = createMetricsRegistry({ service: 'master' });
  registerMasterMetrics(metrics, {
    status: () => masterStatus(statusDeps),
    dnsCounters: zone ? dnsCounters : null,
    storeCounters: () => ({ scrubbed: scrubber?.checked ?? 0, mended: healer.mended }),
    storeFootprint: () => storeFootprint(store.db, store.path),
  });
  registerMetricsRoute(app, metrics, adminTokens);
  // The master serves no content: its root is where an admin looks for the dashboard.
  app.get('/', async (_req, reply) => reply.header('cache-control', 'no-store').redirect('_outpost/', 302));
  registerStatusPage(app, {
    adminToken: adminTokens,
    heading: 'master',
    cookie: 'outpost_master',
    render: () =>
      renderDashboard({
        status: masterStatus(statusDeps),
        versions: versionList(store),
        dns: zone ? { zone, replicas: describeReplicas(zoneView()) } : null,
      }),
    footer: 'The same figures as <code>outpost status</code> and <code>GET /_outpost/api/v1/status</code>.',
  });
  app.server.on('upgrade', (req, socket, head) => {
    if (wantsWebSocket(req)) fanout.handleUpgrade(req, socket, head);
    else answerAsPlainHttp(app.server, req, socket);
  });

  let watcher: FSWatcher | undefined;
  let follower: RootFollower | undefined;
  let rewalkTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let starting: Promise<string> | undefined;
  // Aborted by stop(): a crawl under way (a restart's, after it is ready) is not waited for.
  const stopping = new AbortController();
  // The watcher's crawl and the walk after it, which go on once the master is ready.
  let watching: Promise<void> | undefined;
  // The watcher watches real directories: a content directory given as a symlink is watched
  // where it leads, and watched again when it becomes another directory (a link switched to
  // a new release, a directory moved into its place, a file system mounted again).
  let watchedRoot = resolveRoot(contentDir) ?? { real: contentDir, dev: 0, ino: 0 };
  // Directories the system refused a watch for lack of permission (EACCES): unreadable then.
  // Once a walk lists one (it became readable, and its files are published), it is watched
  // again; chokidar keeps it as watched, so the walks' check for missed ones passed it by, and
  // its later edits waited for the rewalk, ten minutes on.
  const refusedWatch = new Set<string>();
  const watchContent = (root: string) => {
    watchLimit.clear();
    refusedWatch.clear();
    return watchTree(
      root,
      (rel) => batcher.add(rel),
      (err) => {
        if (watchLimit.take(err)) return;
        const refused = watchPermissionRefused(err);
        if (refused !== null) {
          refusedWatch.add(refused);
          log.warn(
            { path: refused },
            'not watching an unreadable directory; watching it once it can be read',
          );
        } else log.error({ err }, 'watcher error');
      },
      { signal: stopping.signal, ignored },
    );
  };
  const followTo = async (to: RootIdentity) => {
    log.info(
      { content: contentDir, from: watchedRoot.real, to: to.real },
      'content directory is now another directory; watching it there',
    );
    watchedRoot = to;
    try {
      // The old watcher goes first: chokidar shares one fs.watch per path among its watchers,
      // so a new watcher of a directory moved into the same path would take over the old
      // directory's. Then watch, then walk, as at start: an edit made meanwhile is caught by
      // one or the other.
      const old = watcher;
      watcher = undefined;
      await old?.close();
      if (stopped) return;
      const next = await watchContent(to.real);
      if (stopped) {
        await next.close();
        return;
      }
      watcher = next;
      // The new target as one version: every file whose inode, size or mtime differs is read.
      await publisher.rewalk();
    } catch (err) {
      log.error({ err }, 'watching the content directory anew failed');
    }
  };
  // A directory made during the watcher's crawl can be in none of its listings; the walks
  // after it (a first start's, a restart's second, each rewalk) list it, and it is watched then.
  const watchMissedDirs = (dirs: readonly string[]) => {
    if (!watcher || stopped) return;
    if (refusedWatch.size > 0) {
      for (const rel of dirs) {
        const abs = rel === '' ? watchedRoot.real : join(watchedRoot.real, rel);
        if (!refusedWatch.delete(abs)) continue;
        // Listed, so readable now: chokidar forgets the watch it could not make, and makes it.
        watcher.unwatch(abs);
        watcher.add(abs);
        log.info({ path: rel }, 'watching a directory that can be read now');
      }
    }
    const added = watchMissed(watcher, watchedRoot.real, dirs, (rel) => batcher.add(rel), {
      cannotWatch: (abs) => watchLimit.refused(abs),
    });
    if (added.length > 0)
      log.info(
        { count: added.length, first: added.slice(0, 5) },
        'watching directories the watcher had missed (made while it crawled)',
      );
  };
  // One rewalk at a time, each scheduled after the last one ends.
  const scheduleRewalk = () => {
    const every = rewalkEveryMs();
    if (every === 0 || stopped) return;
    clearTimeout(rewalkTimer);
    rewalkTimer = setTimeout(() => {
      publisher
        .rewalk()
        .catch((err) => log.error({ err }, 'rewalk failed'))
        .finally(scheduleRewalk);
    }, every);
    rewalkTimer.unref();
  };

  return {
    config,
    app,
    store,
    publisher,
    log,
    start() {
      starting = begin();
      return starting;
    },
    async stop() {
      stopped = true;
      stopping.abort();
      // A start still crawling or publishing winds down between files (the publisher,
      // closed, cuts no version of part of its batch); wait for it before closing anything.
      const publisherClosed = publisher.close();
      await starting?.catch(() => undefined);
      await watching;
      clearTimeout(rewalkTimer);
      scrubber?.stop();
      follower?.stop();
      releaseLean();
      batcher.close();
      await watcher?.close();
      await publisherClosed;
      await fanout.close();
      await dns?.close();
      // Chunk fetches and pulls in flight may finish, for a while (as on a replica).
      await closeDraining(app, config.drainMs, log);
      store.close();
      store.lock.release();
    },
    async watched() {
      await starting?.catch(() => undefined);
      await watching;
    },
    onPublished(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload() {
      if (!tls && !config.replicaTokens) {
        log.info('SIGHUP: nothing to reload (no --tls-cert, no --replica-tokens)');
        return;
      }
      if (tls) reloadTls(app.server as unknown as TlsServer, tls, log);
      if (config.replicaTokens) reloadReplicaTokens(config.replicaTokens);
    },
  };

  /** Reads --replica-tokens again: a replica added, a token changed or revoked (whose link is closed). */
  function reloadReplicaTokens(file: string) {
    try {
      const read = readReplicaTokensFile(file, sharedTokens);
      auth.replace(read.tokens);
      warnIfReadable(file, read.readableByOthers);
      log.info({ file, replicas: read.tokens.size }, 'replica tokens read again');
      fanout.revoke();
    } catch (err) {
      log.error(
        { err: (err as Error).message, file },
        'replica tokens not read again; the ones read before stay',
      );
    }
  }

  /** Listens, then watches and reconciles (a restart: reconciles, and the watch follows); ends early (resolving) when stopped meanwhile. */
  async function begin(): Promise<string> {
    // Listen first: while a large tree is crawled and reconciled (seconds at 100,000 files,
    // minutes at millions), admins get status, replicas their held version and readers DNS
    // answers; /readyz says 503 until it is done. A port in use fails the start at once.
    if (zone) {
      dns = new DnsServer({ host: dnsHost, port: config.dnsPort, responder, view: zoneView, log });
      dnsListen = await dns.start();
      log.info({ zone, ...dnsListen, mode: config.dnsMode, ttl: config.dnsTtl }, 'dns server listening');
      // The zone names its server ns.<zone>, and answers for it with --dns-host: a wildcard
      // leaves it no address, and a resolver may take that answer over the parent's glue.
      if (!isConcreteIp(dnsHost))
        log.warn(
          { zone, dnsHost },
          `dns: ns.${zone} has no address in the zone: --dns-host ${dnsHost} is no address resolvers reach; give --dns-host the address they reach it at (and the parent zone the same glue)`,
        );
    }
    const url = await app.listen({ host: config.host, port: config.port });
    log.info(
      { url, version: publisher.current.version, content: contentDir },
      'outpost master accepting connections; reconciling the content directory',
    );
    // Without tokens the master answers anyone who reaches it: fine on a laptop, not on a network.
    if (!config.token && !config.replicaTokens)
      log.warn(
        'no OUTPOST_TOKEN (nor --replica-tokens): replication is open, and anyone who can reach this master can pull the content of every version it keeps',
      );
    if (!config.adminToken)
      log.warn(
        'no OUTPOST_ADMIN_TOKEN: the admin API is open, and anyone who can reach this master can read its status, roll it back and forget replicas',
      );
    // A restart walks first, then watches, then walks again. The first walk brings the held
    // version in line with the directory, and the master is ready once it has, without
    // waiting for the watcher's crawl. An edit made before every watch is in place is caught
    // by the second walk, which starts once they are; one made after, by the watch. Against
    // watching first, alternating runs: over 10,000 unchanged files ready 0.5–0.6 s after
    // spawn instead of 1.0 s, over 100,000 in 2.2–3.4 s instead of 8.0–10.1 s.
    // A first start watches first and then walks: every replica's first sync follows its
    // publish at once, and would share the master with the crawl (100,000 files, the crawl
    // after the publish: the master published 2–4 s sooner, a replica's first sync then took
    // 19.5–26.7 s instead of 17.1–17.4 s).
    const restart = heldVersion > 0;
    try {
      if (!restart && !(await firstWatch())) return url;
      await publisher.reconcile();
      if (stopped) return url;
      // The walk of a large tree (the scan index read whole, every file's stat, the tree
      // loaded) leaves 150 MB of garbage at 100,000 files (a first start's publish asked for
      // the same collection already: it happens once).
      if (publisher.current.files >= LARGE_CHANGE) releaseMemorySoon();
      // After that collection, which runs on the lean heap too.
      setImmediate(releaseLean);
    } catch (err) {
      // Nothing is left listening behind a start that failed (a stop closes it itself).
      if (!stopped) {
        await app.close();
        await dns?.close();
      }
      throw err;
    }
    ready = true;
    if (beyondPending > 0 && !stopped) await publisher.advancePast(beyondPending);
    // The line scripts wait for: listening, and the content directory published.
    log.info(
      {
        url,
        version: publisher.current.version,
        content: contentDir,
        ...(config.exclude.length > 0 ? { exclude: config.exclude } : {}),
      },
      'outpost master listening',
    );
    watching = (restart ? watchThenCatchUp() : Promise.resolve(true))
      .then((placed) => {
        if (placed && !stopped) keepWatch();
      })
      .catch((err) => log.error({ err }, 'watching the content directory failed'));
    return url;
  }

  /** Puts the watches in place; false when stop() came meanwhile. */
  async function putWatches(lean: boolean): Promise<boolean> {
    const watchStarted = Date.now();
    const next = await watchContent(watchedRoot.real);
    if (stopped) {
      await next.close();
      return false;
    }
    watcher = next;
    log.info({ ms: Date.now() - watchStarted, lean }, 'watching content directory');
    return true;
  }

  /** A first start's watch, put in place before its first walk: on a lean heap, as the tree's size is not known yet. */
  async function firstWatch(): Promise<boolean> {
    const releaseCrawlLean = holdLeanHeap();
    try {
      return await putWatches(true);
    } finally {
      releaseCrawlLean();
    }
  }

  /** A restart's watch, put in place after its first walk, then one more walk for what changed before it was. */
  async function watchThenCatchUp(): Promise<boolean> {
    if (stopped) return false;
    // The watcher's first crawl builds a lot of short-lived structure per file (its heap
    // reached 191 MB at 100,000 files, 79 MB of it kept): a crawl of 100,000 files on the
    // normal heap peaked at 401–410 MiB, 244–252 on a lean heap. The walk before it has
    // counted the tree: a small one is crawled on the normal heap, as the lean heap's
    // collections cost it more than they save (10,000 files: 0.44–0.55 s lean against
    // 0.38–0.47 s).
    // (A tree that shrank since the store last held it is crawled as the larger: leanness costs
    // a little speed, never memory.)
    const files = Math.max(heldFiles, publisher.current.files);
    const releaseCrawlLean = holdLeanHeapFor(files);
    try {
      if (!(await putWatches(files >= LEAN_FILES))) return false;
      // Retried by the publisher when its batch fails (a full disk, say): the watch stands
      // either way, and the periodic rewalk, scrubber and follower still start.
      const caughtUp = await publisher.rewalk().catch((err: unknown) => {
        log.error({ err }, 'the walk after the watches were put in place failed');
        return 0;
      });
      // Racy files (written within 2 s of their scan) are among them, whether changed or not.
      if (caughtUp > 0)
        log.info(
          { paths: caughtUp },
          'looked again at what may have changed before the watches were in place',
        );
      // The crawl and the walk leave their garbage (the crawl's per-file structure, the scan
      // index read whole), which an idle master would otherwise keep.
      if (files >= LARGE_CHANGE) releaseMemorySoon();
      return !stopped;
    } finally {
      // After that collection, which runs on the lean heap too.
      setImmediate(releaseCrawlLean);
    }
  }

  /** What runs once the watches are in place: the periodic rewalk, the scrubber, the root's follower. */
  function keepWatch(): void {
    scheduleRewalk();
    scrubber?.start();
    follower = new RootFollower({ path: contentDir, watched: watchedRoot, onMoved: followTo });
    follower.start();
  }
}
