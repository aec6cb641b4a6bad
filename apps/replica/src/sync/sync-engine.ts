import type { Applying, FetchProgress, Manifest, ReplicaLink, ReplicaState } from '@outpost/protocol';
import { holdLeanHeap, LEAN_FILES, releaseMemorySoon, runYielding } from '@outpost/service';
import { dropUnusedChunkSteps, isOutOfSpace, type Store, truncateWal } from '@outpost/store';
import type { Logger } from 'pino';
import type { Snapshot } from '../serve/snapshot.js';
import { type ApplyDeps, ApplyError, ManifestAssembly } from './apply-manifest.js';
import { RateWindow } from './rate-window.js';

/** Most chunks of failed versions noted to be dropped (about 100 bytes each). */
const MAX_LEFTOVERS = 1_000_000;

/** A manifest of at least this many changes leaves enough garbage to collect at once. */
const LARGE_MANIFEST = 10_000;

/** What came of offering a manifest. */
export type ApplyOutcome =
  | { kind: 'applied'; version: number; root: string }
  /** The version offered is the one held. */
  | { kind: 'current'; version: number; root: string }
  | { kind: 'gap'; from: number; held: number }
  /** `noRoom`: refused for lack of room on the store's volume. */
  | { kind: 'failed'; version: number; reason: string; noRoom: boolean }
  /** A part was taken in; the next one is `next`. */
  | { kind: 'partial'; version: number; next: number }
  /** A part of a manifest that is not being taken in (its start failed or was never seen). */
  | { kind: 'ignored'; version: number; reason: string };

/** Which link brought a manifest: parts of one manifest all come by the same one. */
export type ManifestSource = 'push' | 'pull';

interface PartsInProgress {
  assembly: ManifestAssembly;
  source: ManifestSource;
  next: number;
  count: number;
  started: number;
}

export interface SyncEngineOptions {
  store: Store;
  log: Logger;
  initial: Snapshot;
  fetchChunk: ApplyDeps['fetchChunk'];
  fetchBatch?: ApplyDeps['fetchBatch'];
  fetchChunkList?: ApplyDeps['fetchChunkList'];
  diskSpace?: ApplyDeps['diskSpace'];
  /** How often a long fetch logs its progress. */
  progressLogMs?: number;
  /** Called with each new snapshot, after it is committed: the atomic switch for readers. */
  onSwitch: (s: Snapshot) => void;
  /** Runs after each switch, before the next manifest: garbage collection of what is no longer held. */
  afterSwitch?: (s: Snapshot) => Promise<void>;
  /**
   * What fetches chunks ahead of a version (see Prefetcher): paused while a version is applied
   * (so nothing is fetched twice), told of each version applied, resumed after.
   */
  prefetch?: {
    pause(): Promise<void>;
    applied(version: number): Promise<void>;
    /** A version was refused for lack of room: what was fetched ahead for it goes. */
    refused?(version: number): Promise<void>;
    resume(): void;
  };
  /** Damage found in the store while running (see StoreFault): an error until a restart renews it. */
  storeFault?: { readonly message: string | null; report?(err: unknown, where: string): boolean };
  /** Why the master cannot be reached, while it cannot (see LinkTrouble). */
  linkTrouble?: { readonly message: string | null };
}

/**
 * The replica's sync state: applies manifests one at a time, whichever link brought them,
 * and remembers what status reports (link, master's version, last sync, last error).
 */
export class SyncEngine {
  readonly #o: SyncEngineOptions;
  #snapshot: Snapshot;
  #chain: Promise<unknown> = Promise.resolve();
  #applying = false;
  #parts: PartsInProgress | null = null;
  /** Ends the lean heap a large manifest is applied on. */
  #releaseLean: (() => void) | null = null;
  /** A version was refused for lack of room and the WAL could not be cut down yet: tried before each apply. */
  #walToShrink = false;
  /** Versions of whole manifests (or first parts) offered and not yet taken up, with their counts. */
  readonly #queued = new Map<number, number>();
  /** The newest version whose chunks the master was found not to have (see #stale). */
  #goneUpTo = 0;
  /** Chunks stored for versions that failed, to be dropped after the next switch if unnamed. */
  readonly #leftovers = new Set<string>();
  /** More of them than were noted, or a drop that failed: the next start sweeps. */
  #leftoversOverflow = false;
  /** When a WAL that could not be cut down was last warned of. */
  #walWarnedAt = Number.NEGATIVE_INFINITY;
  link: ReplicaLink = 'offline';
  masterVersion: number | null = null;
  lastSyncAt: number | null = null;
  error: string | null = null;
  /**
   * Upkeep the store refused (the start's sweep on a full disk), while it does: status shows it
   * until the upkeep goes through, whatever a sync says meanwhile; the replica serves on.
   */
  storeTrouble: string | null = null;
  /** The version being applied and how far its fetch is; null when idle. */
  applying: Applying | null = null;

  constructor(o: SyncEngineOptions) {
    this.#o = o;
    this.#snapshot = o.initial;
    // A restart applied nothing yet, but the version it holds was applied at a known time:
    // status and the last-sync metric say when, not 'never' (an alert on its age would fire).
    this.lastSyncAt =
      o.initial.version > 0 ? (o.store.versions.get(o.initial.version)?.createdAt ?? null) : null;
  }

  /** True while a version is being applied, or its parts are arriving. */
  get busy(): boolean {
    return this.#applying || this.#parts !== null;
  }

  /** Gives up on a manifest whose parts were coming by `source` (that link went down). */
  dropParts(source: ManifestSource): void {
    const job = this.#chain.then(() => {
      if (this.#parts?.source !== source) return;
      this.#o.log.info({ version: this.#parts.assembly.head.version, source }, 'manifest parts abandoned');
      this.#settle(this.#parts.assembly.size);
      this.#parts = null;
      this.#idle();
    });
    this.#chain = job.catch(() => undefined);
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Notes the master's latest version, as a welcome or pong tells it: its word on what is newest. */
  heard(version: number): void {
    this.masterVersion = version;
  }

  /** Runs a job in the apply queue: nothing is applied (or stored) while it runs. */
  exclusive(job: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(job);
    this.#chain = run.catch((err) => this.#o.log.error({ err }, 'queued job failed'));
    return run;
  }

  /** Applies a manifest (or takes in one of its parts) after any already queued; never two at once. */
  offer(m: Manifest, source: ManifestSource = 'push'): Promise<ApplyOutcome> {
    const head = !m.part || m.part.index === 0;
    if (head) this.#queued.set(m.version, (this.#queued.get(m.version) ?? 0) + 1);
    const run = this.#chain.then(() => {
      if (head) this.#unqueue(m.version);
      const stale = head ? this.#stale(m) : null;
      return stale ? { kind: 'ignored' as const, version: m.version, reason: stale } : this.#apply(m, source);
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #unqueue(version: number) {
    const n = (this.#queued.get(version) ?? 1) - 1;
    if (n > 0) this.#queued.set(version, n);
    else this.#queued.delete(version);
  }

  /**
   * Why a manifest whose turn has come is not worth applying, or null: a newer one is queued
   * behind it, or the master no longer has its version's chunks (a version at least as new was
   * found collected) and it is not the master's latest. A replica on a thin link under a
   * stream of edits had applied each in turn, spending 37 s and 38 MB of a 1 MiB/s link on a
   * version collected before it began, and tried an older one right after a newer one failed
   * so (the latest reached 76 s after the edits stopped, against 3-4 s for the others).
   */
  #stale(m: Manifest): string | null {
    for (const queued of this.#queued.keys())
      if (queued > m.version) return `version ${m.version} skipped: version ${queued} is queued behind it`;
    if (m.version <= this.#goneUpTo && m.version < (this.masterVersion ?? 0))
      return `version ${m.version} skipped: the master no longer had the chunks of version ${this.#goneUpTo}`;
    return null;
  }

  /** The error status reports: damage in the store first, as it outlasts any sync. */
  get problem(): string | null {
    return (
      this.#o.storeFault?.message ??
      this.error ??
      this.storeTrouble ??
      (this.link === 'offline' ? (this.#o.linkTrouble?.message ?? null) : null)
    );
  }

  /** The state status reports. */
  get state(): ReplicaState {
    if (this.link === 'offline') return 'offline';
    if (this.problem) return 'error';
    if (this.masterVersion !== null && this.#snapshot.version === this.masterVersion && !this.#applying) {
      return 'in-sync';
    }
    return 'syncing';
  }

  async #apply(m: Manifest, source: ManifestSource): Promise<ApplyOutcome> {
    // A manifest names a version the master had when it was sent. One that comes late (a pull
    // answered before a newer push, applied after it) must not lower what we know it has.
    if (this.masterVersion === null || m.version > this.masterVersion) this.masterVersion = m.version;
    const part = m.part;
    if (part && part.index > 0) return this.#nextPart(m, source);
    // A whole manifest, or the first part of one, replaces any manifest still coming in parts.
    if (this.#parts) {
      this.#o.log.info(
        { version: this.#parts.assembly.head.version, by: m.version },
        'manifest parts superseded',
      );
      this.#settle(this.#parts.assembly.size);
      this.#parts = null;
      this.#idle();
    }
    const cur = this.#snapshot;
    if (m.version === cur.version && m.root === cur.root) {
      // Only the newest version the master is known to have says we are in sync: a late
      // manifest of the version held says nothing of a newer one that could not be had.
      if (m.version >= this.masterVersion) {
        this.lastSyncAt = Date.now();
        this.error = null;
      }
      return { kind: 'current', version: cur.version, root: cur.root };
    }
    if (m.version < cur.version)
      // A master behind us (its store lost and rebuilt, still reading its directory; it cuts a
      // version past ours next), or a manifest that came late: nothing to refuse, no error.
      return {
        kind: 'ignored',
        version: m.version,
        reason: `version ${m.version} is older than the version held (${cur.version})`,
      };
    if (!m.full && m.from !== cur.version) return { kind: 'gap', from: m.from, held: cur.version };
    this.#applying = true;
    await this.#o.prefetch?.pause();
    if (this.#walToShrink) this.#shrinkWal();
    const started = Date.now();
    // A large manifest (its whole size, as its first part tells it) is applied on a lean heap.
    if ((part ? part.count : 1) * m.changes.length >= LEAN_FILES) this.#releaseLean ??= holdLeanHeap();
    let assembly: ManifestAssembly | undefined;
    try {
      assembly = new ManifestAssembly(cur, m, this.#deps(m.version));
      await assembly.add(m.changes);
      if (part) {
        await assembly.fetch();
        this.#parts = { assembly, source, next: 1, count: part.count, started };
        return { kind: 'partial', version: m.version, next: 1 };
      }
      return await this.#finish(assembly, started);
    } catch (err) {
      this.#settle(m.changes.length);
      return await this.#failed(m.version, err, assembly);
    } finally {
      if (!this.#parts) this.#idle();
    }
  }

  /** Takes in part 1, 2, …: only in order, by the link that brought part 0, for the same manifest. */
  async #nextPart(m: Manifest, source: ManifestSource): Promise<ApplyOutcome> {
    const p = this.#parts;
    const part = m.part!;
    const head = p?.assembly.head;
    if (
      !p ||
      !head ||
      p.source !== source ||
      head.version !== m.version ||
      head.root !== m.root ||
      head.from !== m.from ||
      head.full !== m.full ||
      p.count !== part.count ||
      p.next !== part.index
    ) {
      return {
        kind: 'ignored',
        version: m.version,
        reason: `part ${part.index + 1} of ${part.count} of version ${m.version} is not the one awaited`,
      };
    }
    try {
      await p.assembly.add(m.changes);
      p.next++;
      if (p.next < p.count) {
        await p.assembly.fetch();
        return { kind: 'partial', version: m.version, next: p.next };
      }
      this.#parts = null;
      return await this.#finish(p.assembly, p.started);
    } catch (err) {
      this.#parts = null;
      this.#settle(p.assembly.size);
      return await this.#failed(m.version, err, p.assembly);
    } finally {
      if (!this.#parts) this.#idle();
    }
  }

  /** Nothing is being applied or taken in any more. */
  #idle() {
    this.#applying = false;
    this.applying = null;
    this.#o.prefetch?.resume();
  }

  #deps(version: number): ApplyDeps {
    let lastLog = Date.now();
    const pace = new RateWindow();
    const onProgress = (p: FetchProgress) => {
      const now = Date.now();
      pace.sample(now, p.bytesDone);
      const perSecond = pace.perSecond();
      const bytesPerSecond = perSecond === null ? null : Math.round(perSecond);
      const etaSeconds = bytesPerSecond ? Math.ceil((p.bytesTotal - p.bytesDone) / bytesPerSecond) : null;
      this.applying = { version, ...p, bytesPerSecond, etaSeconds };
      if (now - lastLog >= (this.#o.progressLogMs ?? 5000)) {
        lastLog = now;
        this.#o.log.info(this.applying, 'sync progress');
      }
    };
    return {
      store: this.#o.store,
      fetchChunk: this.#o.fetchChunk,
      ...(this.#o.fetchBatch ? { fetchBatch: this.#o.fetchBatch } : {}),
      ...(this.#o.fetchChunkList ? { fetchChunkList: this.#o.fetchChunkList } : {}),
      ...(this.#o.diskSpace ? { diskSpace: this.#o.diskSpace } : {}),
      onProgress,
      log: this.#o.log,
    };
  }

  async #finish(assembly: ManifestAssembly, started: number): Promise<ApplyOutcome> {
    const cur = this.#snapshot;
    const changes = assembly.size;
    try {
      const next = await assembly.finish();
      this.#snapshot = next;
      this.#o.onSwitch(next);
      this.lastSyncAt = Date.now();
      this.error = null;
      await this.#dropLeftovers();
      this.#o.log.info(
        { version: next.version, from: cur.version, changes, ms: Date.now() - started },
        'switched to version',
      );
      await this.#o.prefetch
        ?.applied(next.version)
        .catch((err) => this.#o.log.error({ err }, 'settling chunks fetched ahead failed'));
      await this.#o
        .afterSwitch?.(next)
        .catch((err) => this.#o.log.error({ err }, 'collecting old versions failed'));
      return { kind: 'applied', version: next.version, root: next.root };
    } catch (err) {
      return await this.#failed(assembly.head.version, err, assembly);
    } finally {
      this.#settle(changes);
    }
  }

  /** After a manifest: collects what a large one left, then ends its lean heap. */
  #settle(changes: number) {
    const release = this.#releaseLean;
    this.#releaseLean = null;
    if (changes >= LARGE_MANIFEST) releaseMemorySoon();
    // Queued after that collection, which then runs on the lean heap too.
    if (release) setImmediate(release);
  }

  async #failed(version: number, err: unknown, assembly?: ManifestAssembly): Promise<ApplyOutcome> {
    if (err instanceof ApplyError && err.gone) this.#goneUpTo = Math.max(this.#goneUpTo, version);
    const reason = err instanceof ApplyError ? err.message : `unexpected: ${(err as Error).message}`;
    this.error = `version ${version}: ${reason}`;
    // A page of the store SQLite finds damaged as a version is stored (the contents table, say)
    // fails every retry of every version: said as the store's damage, to be renewed by a restart.
    // It had been NACKed again and again, and status told nothing of a restart.
    this.#o.storeFault?.report?.(
      err instanceof ApplyError && err.cause !== undefined ? err.cause : err,
      'storing a version',
    );
    this.#o.log.warn({ version, reason }, 'version not applied');
    if (!(err instanceof ApplyError)) this.#o.log.error({ err }, 'apply failed unexpectedly');
    const noRoom = isOutOfSpace(err);
    if (noRoom) await this.#makeRoom(version, assembly);
    else this.#keepLeftovers(assembly?.stored ?? []);
    return { kind: 'failed', version, reason, noRoom };
  }

  /**
   * Chunks a failed version stored are kept: its retry needs only what is still missing. But
   * the version applied next may be another (the master collected that one, under a stream of
   * edits), and then they were named by nothing, for good: a QA pass found 84-144 MiB of them
   * in replicas in sync, which a clean stop kept past restarts. Noted here, and whatever of
   * them the version applied next does not name goes then (see #dropLeftovers).
   */
  #keepLeftovers(stored: readonly string[]) {
    for (const hash of stored) {
      if (this.#leftovers.size >= MAX_LEFTOVERS) {
        // Past this many (a first sync of millions of chunks, failed), the next start's sweep
        // takes the rest: the stop is not marked clean (see leftovers).
        this.#leftoversOverflow = true;
        return;
      }
      this.#leftovers.add(hash);
    }
  }

  /**
   * After a switch, before old versions are collected: the chunks failed versions stored that
   * no content names now. Every content of a kept version is still named then, so none a
   * reader streams is among them.
   */
  async #dropLeftovers() {
    if (this.#leftovers.size === 0) return;
    const hashes = [...this.#leftovers];
    this.#leftovers.clear();
    try {
      const dropped = await runYielding(dropUnusedChunkSteps(this.#o.store, hashes));
      if (dropped > 0)
        this.#o.log.info({ chunks: dropped }, 'dropped the chunks fetched for versions not applied');
    } catch (err) {
      // A full disk refuses even deletes: the next start's sweep takes them (the stop is not clean).
      this.#leftoversOverflow = true;
      this.#o.log.warn(
        { err: (err as Error).message },
        'could not drop the chunks fetched for versions not applied; trying after the next version',
      );
    }
  }

  /** Whether chunks of failed versions wait to be dropped: a stop now is no clean one. */
  get leftovers(): boolean {
    return this.#leftovers.size > 0 || this.#leftoversOverflow;
  }

  /**
   * After a version refused for lack of room (refused up front, or the disk filling as it was
   * fetched or committed): what was stored for it goes, and the WAL is cut down. Kept, the chunks
   * fetched ahead or part-way, and the WAL at its high-water mark, held the room that later
   * versions needing no new chunk lacked: those were refused too, for good. A retry of the same
   * version fetches them again, but only once there is room for all of it.
   */
  async #makeRoom(version: number, assembly: ManifestAssembly | undefined) {
    const log = this.#o.log;
    await this.#o.prefetch
      ?.refused?.(version)
      .catch((err) => log.warn({ err: (err as Error).message }, 'dropping chunks fetched ahead failed'));
    const stored = assembly?.stored ?? [];
    if (stored.length > 0) {
      try {
        const dropped = await runYielding(dropUnusedChunkSteps(this.#o.store, stored));
        if (dropped > 0)
          log.info(
            { version, chunks: dropped },
            'dropped the chunks fetched for a version refused for lack of room',
          );
      } catch (err) {
        // Even a delete needs a little room in the WAL: the next start's sweep collects them.
        log.warn(
          { err: (err as Error).message },
          'could not drop the chunks fetched for the version refused',
        );
      }
    }
    this.#shrinkWal();
  }

  /** Cuts the WAL down to nothing, or notes that it is still to be done (before the next apply). */
  #shrinkWal() {
    const store = this.#o.store;
    const r = truncateWal(store.db, store.path);
    this.#walToShrink = !r.truncated;
    if (r.truncated) {
      if (r.before > r.after)
        this.#o.log.info({ before: r.before, after: r.after }, 'cut the WAL down to make room');
    } else if (Date.now() - this.#walWarnedAt >= 60_000) {
      // Tried before each apply: on a full disk, many times a second (a warning each, before).
      this.#walWarnedAt = Date.now();
      this.#o.log.warn(
        { err: r.error, wal: r.before },
        'could not cut the WAL down yet; trying again before each version (said once a minute)',
      );
    }
  }
}
