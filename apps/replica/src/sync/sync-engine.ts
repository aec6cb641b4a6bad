import type { FetchProgress, Manifest, ReplicaLink, ReplicaState } from '@outpost/protocol';
import type { Store } from '@outpost/store';
import type { Logger } from 'pino';
import type { Snapshot } from '../serve/snapshot.js';
import { type ApplyDeps, ApplyError, applyManifest } from './apply-manifest.js';
import { releaseMemory } from './release-memory.js';

/** A manifest of at least this many changes leaves enough garbage to collect at once. */
const LARGE_MANIFEST = 10_000;

/** What came of offering a manifest. */
export type ApplyOutcome =
  | { kind: 'applied'; version: number; root: string }
  | { kind: 'current' }
  | { kind: 'gap'; from: number; held: number }
  | { kind: 'failed'; version: number; reason: string };

export interface SyncEngineOptions {
  store: Store;
  log: Logger;
  initial: Snapshot;
  fetchChunk: ApplyDeps['fetchChunk'];
  fetchBatch?: ApplyDeps['fetchBatch'];
  fetchChunkList?: ApplyDeps['fetchChunkList'];
  /** How often a long fetch logs its progress. */
  progressLogMs?: number;
  /** Called with each new snapshot, after it is committed: the atomic switch for readers. */
  onSwitch: (s: Snapshot) => void;
  /** Runs after each switch, before the next manifest: garbage collection of what is no longer held. */
  afterSwitch?: (s: Snapshot) => Promise<void>;
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
  link: ReplicaLink = 'offline';
  masterVersion: number | null = null;
  lastSyncAt: number | null = null;
  error: string | null = null;
  /** The version being applied and how far its fetch is; null when idle. */
  applying: (FetchProgress & { version: number }) | null = null;

  constructor(o: SyncEngineOptions) {
    this.#o = o;
    this.#snapshot = o.initial;
  }

  /** True while a version is being applied. */
  get busy(): boolean {
    return this.#applying;
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Notes the master's latest version, as heard in a welcome, pong or manifest. */
  heard(version: number): void {
    this.masterVersion = version;
  }

  /** Runs a job in the apply queue: nothing is applied (or stored) while it runs. */
  exclusive(job: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(job);
    this.#chain = run.catch((err) => this.#o.log.error({ err }, 'queued job failed'));
    return run;
  }

  /** Applies a manifest after any already queued; never two at once. */
  offer(m: Manifest): Promise<ApplyOutcome> {
    const run = this.#chain.then(() => this.#apply(m));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** The state status reports. */
  get state(): ReplicaState {
    if (this.link === 'offline') return 'offline';
    if (this.error) return 'error';
    if (this.masterVersion !== null && this.#snapshot.version === this.masterVersion && !this.#applying) {
      return 'in-sync';
    }
    return 'syncing';
  }

  async #apply(m: Manifest): Promise<ApplyOutcome> {
    this.heard(m.version);
    const cur = this.#snapshot;
    if (m.version === cur.version && m.root === cur.root) {
      this.lastSyncAt = Date.now();
      this.error = null;
      return { kind: 'current' };
    }
    if (!m.full && m.from !== cur.version) return { kind: 'gap', from: m.from, held: cur.version };
    this.#applying = true;
    const started = Date.now();
    try {
      let lastLog = started;
      const onProgress = (p: FetchProgress) => {
        this.applying = { version: m.version, ...p };
        const now = Date.now();
        if (now - lastLog >= (this.#o.progressLogMs ?? 5000)) {
          lastLog = now;
          this.#o.log.info({ version: m.version, ...p }, 'sync progress');
        }
      };
      const next = await applyManifest(cur, m, {
        store: this.#o.store,
        fetchChunk: this.#o.fetchChunk,
        ...(this.#o.fetchBatch ? { fetchBatch: this.#o.fetchBatch } : {}),
        ...(this.#o.fetchChunkList ? { fetchChunkList: this.#o.fetchChunkList } : {}),
        onProgress,
        log: this.#o.log,
      });
      this.#snapshot = next;
      this.#o.onSwitch(next);
      this.lastSyncAt = Date.now();
      this.error = null;
      this.#o.log.info(
        { version: next.version, from: cur.version, changes: m.changes.length, ms: Date.now() - started },
        'switched to version',
      );
      await this.#o
        .afterSwitch?.(next)
        .catch((err) => this.#o.log.error({ err }, 'collecting old versions failed'));
      return { kind: 'applied', version: next.version, root: next.root };
    } catch (err) {
      const reason = err instanceof ApplyError ? err.message : `unexpected: ${(err as Error).message}`;
      this.error = `version ${m.version}: ${reason}`;
      this.#o.log.warn({ version: m.version, reason }, 'version not applied');
      if (!(err instanceof ApplyError)) this.#o.log.error({ err }, 'apply failed unexpectedly');
      return { kind: 'failed', version: m.version, reason };
    } finally {
      this.#applying = false;
      this.applying = null;
      if (m.changes.length >= LARGE_MANIFEST) setImmediate(releaseMemory);
    }
  }
}
