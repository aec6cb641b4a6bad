import { type Dirent, lstatSync, readdirSync, type Stats, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  type Change,
  type ChunkRef,
  contentPathProblem,
  diffTrees,
  foldCase,
  LiveTree,
  publishedMtime,
  type TreeEntry,
  treeEntry,
} from '@outpost/core';
import { holdLeanHeapFor, LoopSlicer, runYielding } from '@outpost/service';
import {
  clearPendingRollback,
  dropUnusedChunkSteps,
  isOutOfSpace,
  markCleanShutdown,
  markPendingRollback,
  pendingRollback,
  pruneSteps,
  type ScanRecord,
  type Store,
  sweepSteps,
  takeCleanShutdown,
  truncateWal,
} from '@outpost/store';
import type { Logger } from 'pino';
import { MAX_VERSION_JUMP } from '../fanout/held-beyond.js';
import { excludeRule, type IgnoreRule, ignoreRule } from '../watch/ignore-rules.js';
import { type RootIdentity, resolveRoot, sameRoot } from '../watch/root-follower.js';
import { twinRefusal, twinsFreedBy } from './case-twins.js';
import { editedFileSink } from './edited-file-sink.js';
import { entryProblem, specialKind, undecodableNames } from './entry-problem.js';
import { fileDirClashes } from './file-dir-clash.js';
import { FoldersOnTheWay } from './folders-on-the-way.js';
import { type LaneJob, LargeFileLane } from './large-file-lane.js';
import { LinkIndex } from './link-index.js';
import { isNotFound, type ReadResult, readFileIntoStore } from './read-file.js';
import { realRootOf, resolveLink } from './resolve-link.js';
import { isRestoreTemp, restoreFiles } from './restore-files.js';
import { UNREADABLE_DIR, unlistableCode, walkFiles } from './walk-tree.js';
import { WriteBuffer } from './write-buffer.js';

/** Files examined at once: reads overlap on the thread pool and the disk. */
const EXAMINE_CONCURRENCY = 16;
/** How long the publisher works through files before the event loop gets a turn. */
const EXAMINE_SLICE_MS = 4;
/** Default size from which a file is read in the large-file lane, beside the batches. */
export const DEFAULT_LANE_BYTES = 64 * 1024 * 1024;

/** A version the publisher just cut. */
export interface PublishedVersion {
  version: number;
  root: string;
  files: number;
  bytes: number;
  changes: number;
}

export interface PublisherOptions {
  contentDir: string;
  store: Store;
  log: Logger;
  onPublished: (v: PublishedVersion) => void;
  /** First delay before a file caught mid-write is read again; it doubles up to 5 s. */
  retryMs?: number;
  /** A file is read only once it has not been modified for this long. */
  settleMs?: number;
  /** Where a path to be looked at again goes (the watcher's batcher); default: straight back in. */
  requeue?: (path: string) => void;
  /** Versions kept: the newest `versions`, plus those younger than `days` when given. */
  retention?: { versions: number; days?: number };
  /** How often a long batch (a first publish of a large tree) logs its progress (default 5 s). */
  progressLogMs?: number;
  /** First delay before a failed batch (the store refusing a write: a full disk) is tried again; it doubles up to 60 s. */
  failedBatchRetryMs?: number;
  /** Every directory a whole-tree walk (reconcile, rewalk) listed, once it is done: the watcher's check for ones it missed. */
  onWalkedDirs?: (dirs: readonly string[]) => void;
  /**
   * New chunks (no patch may carry) stored while a large change is still being read, with the version they
   * are for (most likely: the next one): replicas may fetch them before it is cut.
   */
  onStoredAhead?: (version: number, chunks: ChunkRef[]) => void;
  /**
   * Chunks told for version `from` (or before) are now for `to`: a version took that number
   * while the large-file lane, which told them, was still reading. Called before that
   * version's onPublished.
   */
  onToldLater?: (from: number, to: number) => void;
  /** The admin's --exclude patterns: never published (nor are editor temp files), nor deleted by a rollback. */
  exclude?: readonly string[];
  /**
   * Files of at least this many bytes that a batch (after the startup reconcile) finds to read
   * are read one at a time in the large-file lane, each published as a version of its own,
   * while the rest of the batch, and later batches, publish at once (default 64 MiB).
   */
  laneBytes?: number;
  /**
   * Test-only: awaited before each 1 MiB read of a file in the lane, with the lane's stop
   * signal: holds a lane read open (or paces it) deterministically. Never set in production.
   */
  laneReadHook?: (rel: string, stopped: () => boolean) => Promise<void>;
}

/** Why the last batch was not published, while its retry is pending. */
export interface PublishFailure {
  message: string;
  /** Epoch ms of the failure. */
  at: number;
  /** Epoch ms of the next attempt. */
  retryAt: number;
}

// A file modified this close to the scan that recorded it may have changed again within the
// same timestamp tick, so the index alone cannot vouch for it (git's "racy" entries).
const RACY_MS = 2000;

/**
 * Turns batches of changed paths into versions: reads each path once, stores its chunks,
 * and commits all changes of a batch as one new version in one transaction. Batches run one
 * at a time, in order.
 */
export class Publisher {
  readonly #o: PublisherOptions;
  /** Editor temp files and what --exclude leaves out. */
  readonly #ignored: IgnoreRule;
  /** What --exclude leaves out (null: nothing). */
  readonly #excluded: IgnoreRule | null;
  /** The latest version's tree, updated in place as each version is committed. */
  readonly #live: LiveTree;
  readonly #writes: WriteBuffer;
  #chain: Promise<void> = Promise.resolve();
  #retryAttempts = new Map<string, number>();
  #retryTimers = new Map<string, NodeJS.Timeout>();
  #closed = false;
  /** A batch failed part-way: what it stored is swept at the next start. */
  #dirty = false;
  /** Files read and hashed since start: a restart over an unchanged tree should read none. */
  filesRead = 0;
  /** Paths refused for publication, and why. */
  readonly problems = new Map<string, string>();
  /** Which symlinks lead to which files: an edit of a file is an edit of every link to it. */
  readonly #links = new LinkIndex();
  /** The batch being examined now: files done of all in it, since when. */
  #progress: { filesDone: number; filesTotal: number; since: number } | null = null;
  /** The last batch's failure, until a batch is published again. */
  #failure: PublishFailure | null = null;
  /**
   * Large files the lane could not store (a full disk), by path, until one is read whole, gone
   * or refused: a publish failure as a failed batch is, which a later batch's success does not
   * clear. A 70 MiB file refused for lack of room had shown nowhere but the log.
   */
  readonly #laneFailures = new Map<string, PublishFailure & { attempt: number }>();
  /** Walks that found the content directory empty in a row, each held back (see #holdEmpty). */
  #emptyRound = 0;
  #emptyTimer: NodeJS.Timeout | undefined;
  /** Paths of failed batches, to be submitted again together once the retry timer fires. */
  readonly #failedPaths = new Set<string>();
  #failedRound = 0;
  #failedTimer: NodeJS.Timeout | undefined;
  /** Resolved once a batch is published after a failure (or at close). */
  #recovered: (() => void)[] = [];
  /** Chunks stored by batches that failed, which no version may name: dropped once the store lets us. */
  readonly #litter = new Set<string>();
  /** A batch failed for lack of room: the WAL is to be cut down before the next one. */
  #walToShrink = false;
  /**
   * Files of the tree with other names (hard links): the paths by inode, and each path's inode.
   * An edit made through one name is reported by the kernel for that name only.
   */
  readonly #hardLinks = new Map<number, Set<string>>();
  readonly #hardLinkOf = new Map<string, number>();
  /** While a batch is examined: the names of each folder looked at that are not UTF-8. */
  #undecodableByDir: Map<string, ReadonlySet<string>> | null = null;
  /**
   * The directory the tree was read from (its real path, device and inode). A batch that finds
   * the content directory to be another one now (a new release moved into its place) is not
   * published: only a walk of the whole new directory is (see #processBatch).
   */
  #treeRoot: RootIdentity | null;
  /** Large files, read one at a time beside the batches (see PublisherOptions.laneBytes). */
  readonly #lane: LargeFileLane;
  /** The lane's own buffer of writes: a batch's drain, tracking and failure never mix with its. */
  readonly #laneWrites: WriteBuffer;
  /** False until the startup reconcile is done: it reads every file itself, as one version. */
  #laneOpen = false;
  /** Chunk collection (pruning, a failed batch's litter) held back while the lane holds unnamed chunks. */
  #gcDeferred = false;
  /**
   * The version the lane's read told its chunks for (see onStoredAhead), until its own version
   * names them (or the read ends without one); null when it told none.
   */
  #laneToldFor: number | null = null;
  /** The collection running now, if any: a lane read starts only once it is done. */
  #gcRunning: Promise<void> | null = null;

  constructor(opts: PublisherOptions) {
    this.#o = opts;
    this.#ignored = ignoreRule(opts.exclude);
    this.#excluded = excludeRule(opts.exclude ?? []);
    this.#live = new LiveTree(opts.store.versions.liveTree().values());
    this.#treeRoot = resolveRoot(opts.contentDir);
    const tell = opts.onStoredAhead;
    const tellSafely = (chunks: ChunkRef[], lane = false) => {
      // A hint: failing to give it must not fail the publish it is called from.
      try {
        const version = this.#o.store.versions.current().version + 1;
        if (lane) this.#laneToldFor = version;
        tell?.(version, chunks);
      } catch (err) {
        this.#o.log.warn(
          { err },
          'could not tell replicas chunks ahead of their version; they fetch them once it is cut',
        );
      }
    };
    this.#writes = new WriteBuffer(opts.store, tell ? { onStoredAhead: tellSafely } : {});
    this.#laneWrites = new WriteBuffer(
      opts.store,
      tell ? { onStoredAhead: (chunks) => tellSafely(chunks, true) } : {},
    );
    this.#lane = new LargeFileLane({
      // Whatever the read came to, what it told is named by its version or by none.
      run: (job) =>
        this.#readInLane(job).finally(() => {
          this.#laneToldFor = null;
        }),
      onIdle: () => this.#afterLane(),
    });
  }

  /** The latest published version. */
  get current(): { version: number; root: string; files: number; bytes: number } {
    const { version, root } = this.#o.store.versions.current();
    return { version, root, files: this.#live.files, bytes: this.#live.bytes };
  }

  /** Why publishing fails, while it does (a retry pending); null once a batch went through. */
  get failure(): PublishFailure | null {
    const f = this.#failure ?? this.#laneFailures.values().next().value;
    return f ? { message: f.message, at: f.at, retryAt: f.retryAt } : null;
  }

  /**
   * What is being published now, if anything: files examined so far, of all in the batch and
   * the large-file lane (a file in the lane counts as not done until its version is cut).
   */
  get publishing(): { filesDone: number; filesTotal: number; since: number } | null {
    const batch = this.#progress;
    const lane = this.#lane.progress;
    if (!lane) return batch && { ...batch };
    if (!batch) return { filesDone: 0, filesTotal: lane.files, since: lane.since };
    return {
      filesDone: batch.filesDone,
      filesTotal: batch.filesTotal + lane.files,
      since: Math.min(batch.since, lane.since),
    };
  }

  /** The file the large-file lane is reading now, if any. */
  get laneReading(): string | null {
    return this.#lane.reading;
  }

  /**
   * Queues a batch of changed paths; resolves when it has been published (or found empty).
   * `walked` is the directory a walk of the whole tree listed, when the batch comes of one.
   */
  submit(
    paths: Iterable<string>,
    opts: { trustIndex?: boolean; walked?: RootIdentity | null } = {},
  ): Promise<void> {
    const batch = [...paths];
    const run = this.#chain.then(() =>
      this.#closed ? undefined : this.#process(batch, opts.trustIndex ?? false, opts.walked ?? null),
    );
    this.#chain = run.then(
      () => this.#succeeded(),
      (err) => {
        // Its chunks may be stored with no version naming them: dropped at once where the store
        // lets us (see #tidy), else left for the next start's sweep.
        this.#dirty = true;
        if (isOutOfSpace(err)) this.#walToShrink = true;
        this.#failed(batch, err);
        this.#tidy();
      },
    );
    return run;
  }

  /**
   * After a failed batch, once nothing else runs (it is queued behind publishing): drops the
   * chunks it stored, which no version names, and after a failure for lack of room cuts the
   * WAL down to nothing. Left, a full disk stayed full for good: the failed batch's chunks (and
   * SQLite's WAL at its high-water mark) held the room every later batch, even a one-file
   * edit, lacked, and a restart stayed unready, failing the same way. Each step may fail again
   * on a disk still full; it is tried again before each retry of the batch.
   */
  #tidy() {
    const run = this.#chain.then(async () => {
      const store = this.#o.store;
      // The lane's chunks may be among them, stored and not yet named: dropped once it is idle.
      if (this.#litter.size > 0 && this.#lane.busy) this.#gcDeferred = true;
      else if (this.#litter.size > 0) {
        const hashes = [...this.#litter];
        await this.#collecting(async () => {
          try {
            const dropped = await runYielding(dropUnusedChunkSteps(store, hashes));
            this.#litter.clear();
            if (dropped > 0)
              this.#o.log.info({ chunks: dropped }, 'dropped the chunks a failed batch stored');
          } catch (err) {
            this.#o.log.warn(
              { err: (err as Error).message, chunks: hashes.length },
              'could not drop the chunks a failed batch stored yet; trying again before the retry',
            );
          }
        });
      }
      if (!this.#walToShrink) return;
      const r = truncateWal(store.db, store.path);
      if (r.truncated) {
        this.#walToShrink = false;
        this.#o.log.info(
          { before: r.before, after: r.after },
          'cut the WAL down after a failure for lack of room',
        );
      } else {
        this.#o.log.warn(
          { err: r.error, wal: r.before },
          'could not cut the WAL down yet; trying again before the retry',
        );
      }
    });
    this.#chain = run.catch(() => undefined);
  }

  #succeeded() {
    if (this.#closed || this.#failure === null || this.#failedPaths.size > 0 || this.#emptyRound > 0) return;
    this.#o.log.info({ version: this.current.version }, 'publishing works again');
    this.#failure = null;
    this.#failedRound = 0;
    for (const resolve of this.#recovered.splice(0)) resolve();
  }

  /**
   * True when the changes leave no file of a tree that has some: every path deleted, none put.
   * Read off a walk of the whole directory, that is what an unmounted file system looks like
   * (its mount point left behind, empty), or one that failed to mount at boot.
   */
  #wouldEmpty(changes: Map<string, Change>): boolean {
    if (this.#live.files === 0) return false;
    let deletes = 0;
    for (const c of changes.values()) {
      if (c.op === 'put') return false;
      deletes++;
    }
    return deletes >= this.#live.files;
  }

  /**
   * Publishes nothing of a walk that found the content directory empty where the latest
   * version has files: it is said as a publish failure (status, `outpost status` exit 1, the
   * metric) and the directory walked again, with a backoff to a minute, until it holds files
   * again. Published, it had emptied every replica (a QA pass unmounted the content). Files
   * deleted while the master runs still publish an empty tree: their events are no walk.
   */
  #holdEmpty() {
    const now = Date.now();
    const delay = Math.min(60_000, (this.#o.failedBatchRetryMs ?? 1000) * 2 ** this.#emptyRound++);
    const { version } = this.current;
    const message = `the content directory ${this.#o.contentDir} holds no file now, where version ${version} has ${this.#live.files}: nothing published, as an unmounted or missing file system reads so (put the content back; to publish an empty tree, delete the files while the master runs)`;
    if (this.#emptyRound === 1) this.#o.log.warn({ version, files: this.#live.files }, message);
    this.#failure = { message, at: now, retryAt: now + delay };
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = setTimeout(() => {
      if (!this.#closed)
        void this.rewalk().catch((err) => this.#o.log.error({ err }, 'walking the content directory failed'));
    }, delay);
    this.#emptyTimer.unref();
  }

  #endEmptyHold() {
    this.#emptyRound = 0;
    clearTimeout(this.#emptyTimer);
    this.#o.log.info('the content directory holds files again: publishing it');
  }

  /**
   * A batch that failed (the store refusing a write: a full disk, a read-only file system) is
   * tried again whole, with a backoff, until it goes through: a full disk freed by an admin
   * then publishes within a minute, not at the next rewalk.
   */
  #failed(batch: string[], err: unknown) {
    if (this.#closed) return;
    const delay = Math.min(60_000, (this.#o.failedBatchRetryMs ?? 1000) * 2 ** this.#failedRound++);
    const now = Date.now();
    this.#failure = { message: (err as Error).message ?? String(err), at: now, retryAt: now + delay };
    this.#o.log.error({ err, paths: batch.length, retryInMs: delay }, 'publishing a batch failed');
    for (const path of batch) this.#failedPaths.add(path);
    clearTimeout(this.#failedTimer);
    this.#failedTimer = setTimeout(() => {
      this.#failedTimer = undefined;
      const paths = [...this.#failedPaths];
      this.#failedPaths.clear();
      // What the last try could not tidy (the disk still full) is tried first: room it frees is
      // room the retry needs.
      if (this.#litter.size > 0 || this.#walToShrink) this.#tidy();
      // The index vouches for what an earlier attempt got through; the rest is read again.
      void this.submit(paths, { trustIndex: true }).catch(() => undefined);
    }, delay);
    this.#failedTimer.unref();
  }

  /** Resolves once publishing works again after a failure (at once when none is pending), or at close. */
  #untilRecovered(): Promise<void> {
    if (this.#failure === null || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#recovered.push(resolve));
  }

  /**
   * Rolls forward to the content of a kept version: the content directory is made to match it
   * and the result is published as a new version (numbers only grow). Resolves to that version,
   * or null when the current content already is version `to`'s.
   */
  rollback(to: number): Promise<PublishedVersion | null> {
    const run = this.#chain.then(async () => {
      const target = this.#o.store.versions.treeAt(to);
      if (!target) throw new VersionNotKeptError(to);
      // What --exclude leaves out now is neither written back nor published, though `to` held it.
      const excluded = this.#excluded;
      const changes = diffTrees(this.#live.entries, target).changes.filter(
        (c) => excluded === null || !excluded(c.op === 'put' ? c.entry.path : c.path),
      );
      if (changes.length === 0) return null;
      const from = this.#o.store.versions.current().version;
      let published: PublishedVersion | null;
      try {
        // Marked once the tree is about to change: a crash from then until the version is cut
        // is finished at the next start (see reconcile), not published half rolled back.
        await restoreFiles(
          this.#o.contentDir,
          this.#o.store,
          changes,
          () => markPendingRollback(this.#o.store, { to, from }),
          excluded ?? undefined,
        );
        this.#o.log.info({ to, changes: changes.length }, 'rolled the content directory back');
        published = this.#commit(changes);
      } finally {
        this.#clearPendingRollback();
      }
      await this.#collect();
      return published;
    });
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Cuts a version numbered past `held`, holding the latest content, unless the latest is past
   * it already: for a replica that holds a version beyond this master's history (see
   * heldBeyond), which refuses any version not newer than its own. Resolves to that version,
   * or null when none was needed.
   */
  advancePast(held: number): Promise<PublishedVersion | null> {
    const run = this.#chain.then(() => {
      const cur = this.#o.store.versions.current();
      if (cur.version > held || held - cur.version > MAX_VERSION_JUMP) return null;
      const version = held + 1;
      const { files, bytes } = this.#live;
      this.#o.store.versions.commit({
        version,
        root: cur.root,
        createdAt: Date.now(),
        files,
        bytes,
        changes: [],
      });
      const published = { version, root: cur.root, files, bytes, changes: 0 };
      this.#o.log.warn(
        { ...published, past: held },
        'published the latest content again, numbered past a version a replica holds',
      );
      this.#toldLater(version);
      this.#o.onPublished(published);
      return published;
    });
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Brings the store in line with the directory: changes made while the master was down become
   * a version. The large-file lane opens once it is done: until then every file, however large,
   * is read into that one version (a file a crash left half-read in the lane included).
   */
  async reconcile(): Promise<void> {
    try {
      await this.#reconcileOnce();
    } finally {
      this.#laneOpen = true;
    }
  }

  async #reconcileOnce(): Promise<void> {
    const started = Date.now();
    const readBefore = this.filesRead;
    await this.#finishRollback();
    // After a crash, chunks of a batch that was never committed may be left: sweep them. A
    // clean stop leaves none, and the sweep is a pass over the whole store; so does a store
    // that has never published nor stored anything (a first start).
    const clean = this.#takeClean() || this.#neverUsed();
    const { suspects, checked, walked, restoreTemps } = await this.#suspects();
    if (this.#closed) return;
    // A rollback's temp files a crash left behind (the watcher ignores them, so nothing else would).
    if (restoreTemps.length > 0) await this.#removeRestoreTemps(restoreTemps);
    let swept = false;
    // A large tree's first publish builds its whole version at once: on a lean heap. A first
    // start over 100,000 small files, its crawl already lean: VmHWM 244–252 → 187–228 MiB,
    // RSS once listening 209–222 → 152–157 MiB, the reconcile 9.0–9.6 against 9.1–10.0 s.
    const releaseLean = holdLeanHeapFor(suspects.length);
    try {
      await this.submit(suspects, { trustIndex: true, walked });
    } catch (err) {
      // On a full disk, what a crash (or the last run's failed batch) left is what holds the
      // room the retry needs: swept now, not once a retry lands (none would, and the master
      // stayed unready for good).
      if (!clean && isOutOfSpace(err)) {
        swept = true;
        await this.#sweep();
      }
      // Logged and retried by submit: the content directory is reconciled once a retry lands.
      await this.#untilRecovered();
    } finally {
      releaseLean();
    }
    if (this.#closed) return;
    if (!clean && !swept) await this.#sweep();
    this.#o.log.info(
      {
        checked,
        suspects: suspects.length,
        read: this.filesRead - readBefore,
        ms: Date.now() - started,
        ...this.current,
      },
      'reconciled content directory',
    );
  }

  /** Takes the clean-stop mark; false (so the store is swept) when a full disk refuses even that. */
  #takeClean(): boolean {
    try {
      return takeCleanShutdown(this.#o.store);
    } catch (err) {
      this.#o.log.warn(
        { err: (err as Error).message },
        'could not read the clean-stop mark; sweeping the store',
      );
      return false;
    }
  }

  #neverUsed(): boolean {
    return this.#o.store.versions.current().version === 0 && this.#o.store.chunks.isEmpty();
  }

  /**
   * Looks over the whole directory, at low priority, for what the watcher missed (events an
   * OS dropped, a directory mounted over): files whose size, mtime or inode differ from the
   * index, new ones, and ones gone. It stats every file and reads none; only the suspects go
   * on to be read. Resolves to their number.
   *
   * One runs at a time. Asked while one runs (the periodic rewalk, the watch limit reached, the
   * content directory moved), one more follows it, shared by all who asked meanwhile: the
   * running one may already have walked past what prompted them.
   */
  rewalk(): Promise<number> {
    if (this.#rewalking === null) {
      const run = this.#rewalkOnce().finally(() => {
        this.#rewalking = null;
      });
      this.#rewalking = run;
      return run;
    }
    this.#rewalkNext ??= this.#rewalking
      .catch(() => 0)
      .then(() => {
        this.#rewalkNext = null;
        return this.rewalk();
      });
    return this.#rewalkNext;
  }
  #rewalking: Promise<number> | null = null;
  #rewalkNext: Promise<number> | null = null;

  async #rewalkOnce(): Promise<number> {
    const { suspects, checked, walked } = await this.#suspects();
    if (suspects.length > 0) {
      this.#o.log.info(
        { suspects: suspects.length, checked },
        'rewalk found paths to look at again (new, changed, gone, or written too near their last scan)',
      );
      await this.submit(suspects, { trustIndex: true, walked });
    } else if (walked !== null && (this.#treeRoot === null || !sameRoot(walked, this.#treeRoot))) {
      // Another directory with nothing to read (its files the same as the index's): still, the
      // tree is its now, or every later batch were taken for one of the directory before it.
      await this.submit([], { walked });
    }
    return suspects.length;
  }

  /**
   * The paths the scan index cannot vouch for: new, changed (size, mtime, inode), racy, gone,
   * or not yet judged; and the refused paths the walk did not meet (gone, or left behind in a
   * content directory switched for another), whose refusals then go, unless they lie in a
   * folder the walk could not list. The index is read in one query, and files are stat'ed
   * synchronously a slice at a time (a cached lstat costs a microsecond or two; an async one
   * several, plus a thread-pool trip), yielding between slices so a running master keeps serving.
   */
  async #suspects(): Promise<{
    suspects: string[];
    checked: number;
    walked: RootIdentity | null;
    restoreTemps: string[];
  }> {
    const index = this.#o.store.scanIndex.all();
    const root = this.#o.contentDir;
    // The directory listed: one moved into its place during the walk makes its batch no whole walk.
    const walked = resolveRoot(root);
    const restoreTemps: string[] = [];
    const seen = new Set<string>();
    const suspects: string[] = [];
    const dirs = [''];
    const listed: string[] = [];
    // What the walk refused (a folder it could not list, a pipe): met, so not gone.
    const refused = new Set<string>();
    let checked = 0;
    // Resolved once for every link of the walk, not once a link.
    let realRoot: string | undefined;
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      const absDir = dir === '' ? root : join(root, dir);
      let items: Dirent[];
      try {
        items = readdirSync(absDir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) continue;
        const code = unlistableCode(err);
        if (code) {
          this.#refuse(dir, `${UNREADABLE_DIR}: ${code}`);
          refused.add(dir);
          continue;
        }
        throw err;
      }
      listed.push(dir);
      const undecodable = undecodableNames(absDir, items);
      for (const item of items) {
        const rel = dir === '' ? item.name : `${dir}/${item.name}`;
        if (this.#ignored(rel)) {
          if (item.isFile() && isRestoreTemp(item.name)) restoreTemps.push(rel);
          continue;
        }
        const problem = entryProblem(item, undecodable);
        if (problem) {
          this.#refuse(rel, problem);
          refused.add(rel);
          continue;
        }
        if (item.isDirectory()) {
          dirs.push(rel);
          continue;
        }
        const link = item.isSymbolicLink();
        if (!link && !item.isFile()) continue;
        seen.add(rel);
        if (++checked % 512 === 0) {
          await yieldToLoop();
          if (this.#closed) return { suspects: [], checked, walked, restoreTemps };
        }
        if (contentPathProblem(rel)) {
          if (!this.problems.has(rel)) suspects.push(rel);
          continue;
        }
        const queued = this.#writes.queued(rel);
        const rec = queued === undefined ? index.get(rel) : queued;
        // A link is judged by the file it leads to (and its target learned, for the watcher's edits).
        let st: Stats | null;
        if (link) {
          realRoot ??= realRootOf(root);
          const target = this.#learnLink(rel, realRoot);
          if (target.kind === 'refused') {
            if (this.#live.entries.has(rel) || this.problems.get(rel) !== target.problem) suspects.push(rel);
            continue;
          }
          st = target.st;
        } else {
          // No record, no stat needed: the file is read whatever it says (every file, at a first start).
          st = rec ? lstatOrNull(join(root, rel)) : null;
          if (st) this.#noteLinks(rel, st.ino, st.nlink);
        }
        if (!st || !rec || !vouches(rec, st, this.#live.entries.get(rel))) suspects.push(rel);
      }
    }
    for (const path of this.#live.entries.keys()) if (!seen.has(path)) suspects.push(path);
    for (const path of this.problems.keys())
      if (!seen.has(path) && !refused.has(path) && !this.#live.entries.has(path) && !liesIn(refused, path))
        suspects.push(path);
    this.#o.onWalkedDirs?.(listed);
    return { suspects, checked, walked, restoreTemps };
  }

  /**
   * Finishes a rollback a crash cut short (see rollback): the content directory may hold some of
   * version `to`'s files and not the rest, which published had been a version of neither.
   */
  async #finishRollback(): Promise<void> {
    const pending = pendingRollback(this.#o.store);
    if (pending === null) return;
    const { to, from } = pending;
    // Its version was cut (the crash came before the mark was cleared): nothing to finish, and
    // rolling back again had undone whatever was published since.
    if (this.#o.store.versions.current().version !== from) {
      this.#clearPendingRollback();
      return;
    }
    try {
      const published = await this.rollback(to);
      this.#o.log.warn({ to, version: published?.version }, 'finished a rollback a crash had cut short');
    } catch (err) {
      this.#o.log.error(
        { err, to },
        'could not finish a rollback a crash had cut short; the content directory is published as it is',
      );
    } finally {
      this.#clearPendingRollback();
    }
  }

  #clearPendingRollback() {
    try {
      clearPendingRollback(this.#o.store);
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'could not clear the mark of a rollback under way');
    }
  }

  /** Removes a rollback's temp files, queued behind publishing: never one a rollback is writing. */
  #removeRestoreTemps(paths: readonly string[]): Promise<void> {
    const run = this.#chain.then(async () => {
      let removed = 0;
      for (const rel of paths) {
        try {
          await rm(join(this.#o.contentDir, rel), { force: true });
          removed++;
        } catch (err) {
          this.#o.log.warn(
            { path: rel, err: (err as Error).message },
            'could not remove a rollback temp file',
          );
        }
      }
      this.#o.log.info({ files: removed }, 'removed the temp files of a rollback a crash had cut short');
    });
    this.#chain = run.catch(() => undefined);
    return this.#chain;
  }

  /** Collects what a crash may have left unreferenced; queued behind publishing, so never beside a read. */
  #sweep(): Promise<void> {
    const run = this.#chain.then(async () => {
      const steps = sweepSteps(this.#o.store);
      for (let s = steps.next(); ; s = steps.next()) {
        if (s.done) {
          if (s.value.chunks + s.value.contents > 0) this.#o.log.info(s.value, 'swept unreferenced chunks');
          return;
        }
        await yieldToLoop();
      }
    });
    this.#chain = run.catch((err) => this.#o.log.error({ err }, 'sweep failed'));
    return this.#chain;
  }

  /**
   * Waits for queued batches, stops the large-file lane's read (its file is read again at the
   * next start) and stops retries. No clean-stop mark is left when anything was left unfinished:
   * the next start then sweeps what it stored.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#retryTimers.values()) clearTimeout(t);
    this.#retryTimers.clear();
    clearTimeout(this.#failedTimer);
    clearTimeout(this.#emptyTimer);
    for (const resolve of this.#recovered.splice(0)) resolve();
    const unread = await this.#lane.close();
    if (unread > 0) {
      this.#dirty = true;
      this.#o.log.info({ files: unread }, 'large files left unread at stop; read at the next start');
    }
    await this.#chain;
    for (const writes of [this.#laneWrites, this.#writes]) {
      try {
        await writes.close();
      } catch (err) {
        this.#dirty = true;
        this.#o.log.error({ err }, 'storing the last writes failed');
      }
    }
    if (!this.#dirty) markCleanShutdown(this.#o.store);
  }

  /** True when a file of this lstat is for the large-file lane rather than the batch. */
  #forLane(st: Stats | null | undefined): boolean {
    return (
      this.#laneOpen &&
      !this.#closed &&
      st?.isFile() === true &&
      st.size >= (this.#o.laneBytes ?? DEFAULT_LANE_BYTES)
    );
  }

  /**
   * Reads one large file in the lane, beside the batches, then cuts a version of it on the
   * publishing chain, once its size, mtime and inode are found to be those it was read with:
   * bytes that do not match the file are never published (it is looked at again instead).
   */
  async #readInLane(job: LaneJob): Promise<void> {
    const { rel, source } = job;
    // A collection begun before the lane got busy may drop a chunk this read stores: let it end.
    await this.#gcRunning;
    if (this.#closed) {
      this.#dirty = true;
      return;
    }
    const abs = source ?? join(this.#o.contentDir, rel);
    const hook = this.#o.laneReadHook;
    const stopped = () => this.#closed;
    let result: ReadResult;
    const w = this.#laneWrites;
    // What it stores, to be dropped (once the lane is idle) if no version comes to name it.
    w.track();
    try {
      const held = this.#live.entries.get(rel)?.chunks;
      const sink = held ? editedFileSink(w, w.ahead, held) : w.ahead;
      this.#o.log.info({ path: rel }, 'reading a large file in the lane, beside other changes');
      result = await readFileIntoStore(
        abs,
        rel,
        sink,
        this.#settleOf(rel),
        undefined,
        stopped,
        hook && (() => hook(rel, stopped)),
      );
      await w.drain();
    } catch (err) {
      await w
        .drain()
        .catch((e) =>
          this.#o.log.warn({ err: (e as Error).message }, 'could not store the rest of a lane read'),
        );
      this.#abandon(w.untrack());
      if (isFileSystemError(err)) {
        this.#refuse(rel, `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        return;
      }
      const delay = this.#laneFailed(rel, err);
      this.#o.log.error(
        { err, path: rel, retryInMs: delay },
        'reading a large file in the lane failed; trying it again',
      );
      this.#scheduleRetry(rel, delay);
      return;
    }
    const stored = w.untrack();
    this.filesRead++;
    if (this.#closed) {
      // Read whole, or stopped part-way: either way not published now; read again at the next
      // start, whose sweep takes what it stored.
      this.#dirty = true;
      return;
    }
    if (result.kind !== 'file') {
      this.#abandon(stored);
      // Gone or moving: a batch judges it again (a delete, a retry after its backoff).
      if (result.kind === 'unstable') {
        this.#o.log.info(
          { path: rel, reason: result.reason },
          'a large file moved while the lane read it; will read it again',
        );
        this.#scheduleRetry(rel, result.retryInMs);
      } else this.#scheduleRetry(rel, 0);
      return;
    }
    await this.#onChain(async () => {
      if (!(await this.#commitFromLane(rel, abs, source !== undefined, result))) this.#abandon(stored);
    });
  }

  /**
   * Records a lane read the store refused, as status says it; its retry's delay, which grows as
   * a failed batch's does (to a minute): the file is read whole again each time. After a
   * failure for lack of room the WAL is cut down once the lane is idle (see #afterLane), as
   * after a failed batch: it had held the volume full until some other edit came.
   */
  #laneFailed(rel: string, err: unknown): number {
    const attempt = (this.#laneFailures.get(rel)?.attempt ?? 0) + 1;
    const delay = Math.min(60_000, (this.#o.failedBatchRetryMs ?? 1000) * 2 ** (attempt - 1));
    const now = Date.now();
    const message = `${rel}: ${(err as Error).message ?? String(err)}`;
    this.#laneFailures.set(rel, { message, at: now, retryAt: now + delay, attempt });
    if (isOutOfSpace(err)) this.#walToShrink = true;
    return delay;
  }

  /** True when nothing is at `rel` now; false when something is, or it cannot be told (its failure stays). */
  #goneNow(rel: string): boolean {
    try {
      return lstatOrNull(join(this.#o.contentDir, rel)) === null;
    } catch (err) {
      if (!isFileSystemError(err)) throw err;
      return false;
    }
  }

  /** A path the lane failed on is settled (read whole, gone, refused): its failure goes. */
  #laneSettled(rel: string) {
    if (!this.#laneFailures.delete(rel)) return;
    this.#o.log.info({ path: rel }, 'publishing works again: a large file that failed is settled');
  }

  /** Chunks a lane read stored that no version will name: dropped once the lane is idle (see #afterLane). */
  #abandon(stored: readonly string[]) {
    for (const hash of stored) this.#litter.add(hash);
    this.#gcDeferred = true;
  }

  /** Runs `step` on the publishing chain (after the batches queued before it); resolves when it is done. */
  #onChain(step: () => Promise<void> | void): Promise<void> {
    const run = this.#chain.then(step);
    this.#chain = run.catch(() => undefined);
    return this.#chain;
  }

  /** A file read whole: its retries end, its links are noted, and the scan index has it. */
  #readDone(rel: string, result: Extract<ReadResult, { kind: 'file' }>, noteLinks: boolean): void {
    this.#retryAttempts.delete(rel);
    this.#laneSettled(rel);
    if (noteLinks) this.#noteLinks(rel, result.ino, result.nlink);
    this.#writes.scanned({
      path: rel,
      size: result.entry.size,
      mtimeMs: result.mtimeMs,
      ino: result.ino,
      hash: result.entry.hash,
      scannedAt: result.startedAt,
    });
  }

  /** Cuts the version of a file the lane has read, when the file still is what was read; false when it did not (its chunks are not named). */
  #commitFromLane(
    rel: string,
    abs: string,
    viaLink: boolean,
    result: Extract<ReadResult, { kind: 'file' }>,
  ): boolean {
    if (this.#closed) {
      this.#dirty = true;
      return true;
    }
    let now: Stats | null;
    try {
      now = lstatOrNull(abs);
    } catch (err) {
      if (!isFileSystemError(err)) throw err;
      now = null;
    }
    const same =
      now?.isFile() &&
      now.size === result.entry.size &&
      now.mtimeMs === result.mtimeMs &&
      now.ino === result.ino;
    if (!same) {
      // Changed (or gone) since it was read, perhaps published by a batch meanwhile: the path
      // is looked at again.
      this.#o.log.info({ path: rel }, 'a large file changed after the lane read it; looking at it again');
      this.#scheduleRetry(rel, 0);
      return false;
    }
    // The content directory is another one now: a walk of it publishes it whole (see #processBatch).
    if (!this.#sameTree(null)) return false;
    this.#readDone(rel, result, !viaLink);
    const old = this.#live.entries.get(rel);
    const changes = new Map<string, Change>();
    if (!(old && old.hash === result.entry.hash && old.size === result.entry.size && old.mtime >= 0))
      changes.set(rel, { op: 'put', entry: result.entry });
    this.#dropCaseCollisions(changes);
    this.#holdBackClashes(changes);
    try {
      if (changes.size > 0) this.#commit([...changes.values()], true);
      else this.#writes.flush();
    } catch (err) {
      // The store refused (a full disk): as a failed batch, tried again with a backoff.
      if (isOutOfSpace(err)) this.#walToShrink = true;
      this.#failed([rel], err);
      return false;
    }
    // Its other names hold the same new bytes: looked at next (as #examineFile does).
    for (const other of this.#hardLinks.get(result.ino) ?? [])
      if (other !== rel && this.#live.entries.get(other)?.hash !== result.entry.hash)
        this.#scheduleRetry(other, 0);
    // Collected once the lane is idle: #collect would find it busy (this is its job).
    this.#gcDeferred = true;
    this.#succeeded();
    return true;
  }

  /** Once the lane is idle: the collection it held back runs (pruning, a failed batch's chunks). */
  #afterLane() {
    if (!this.#gcDeferred || this.#closed) return;
    void this.#onChain(async () => {
      if (this.#lane.busy || this.#closed) return;
      this.#gcDeferred = false;
      await this.#collect();
      if (this.#litter.size > 0 || this.#walToShrink) this.#tidy();
    }).catch((err) => this.#o.log.error({ err }, 'collecting after the large-file lane failed'));
  }

  async #process(paths: string[], trustIndex: boolean, walked: RootIdentity | null): Promise<void> {
    const progress = { filesDone: 0, filesTotal: paths.length, since: Date.now() };
    this.#progress = progress;
    // Only a batch that outlasts the interval says anything: a one-file change stays quiet.
    const logger = setInterval(() => {
      const { filesDone, filesTotal } = progress;
      this.#o.log.info({ filesDone, filesTotal, ms: Date.now() - progress.since }, 'publish progress');
    }, this.#o.progressLogMs ?? 5000);
    logger.unref();
    try {
      await this.#processBatch(paths, trustIndex, walked, progress);
    } finally {
      clearInterval(logger);
      this.#progress = null;
    }
  }

  /**
   * True when `name`, as Node decoded it, stands for a name of `absDir` that is not UTF-8.
   * The directory is listed as bytes once per batch: a burst of 20,000 such files made in one
   * folder had listed its 20,000 names once for each, 20 files a second.
   */
  #undecodable(absDir: string, name: string): boolean {
    const byDir = this.#undecodableByDir;
    let bad = byDir?.get(absDir);
    if (bad === undefined) {
      bad = undecodableNames(absDir, [{ name }]);
      // Nothing to keep for a name with no U+FFFD in it: the folder was not listed.
      if (name.includes('\uFFFD')) byDir?.set(absDir, bad);
    }
    return bad.has(name);
  }

  async #processBatch(
    named: string[],
    trustIndex: boolean,
    walked: RootIdentity | null,
    progress: { filesDone: number; filesTotal: number },
  ): Promise<void> {
    const paths = this.#links.size === 0 ? named : [...named, ...this.#links.dependents(named)];
    const changes = new Map<string, Change>();
    const unstable = new Map<string, number | undefined>();
    let failed: { err: unknown } | undefined;
    let whole = false;
    this.#writes.track();
    this.#undecodableByDir = new Map();
    try {
      whole = await this.#examineAll(paths, trustIndex, changes, unstable, progress);
      // A twin refused beside a path this batch deletes is free now: it goes in with the delete,
      // in the same version (left refused, it stayed unpublished until something touched it).
      const freed = whole ? twinsFreedBy(this.problems, changes) : [];
      if (freed.length > 0) {
        progress.filesTotal += freed.length;
        whole = await this.#examineAll(freed, trustIndex, changes, unstable, progress);
      }
    } catch (err) {
      failed = { err };
    } finally {
      this.#undecodableByDir = null;
    }
    try {
      await this.#writes.drain();
    } catch (err) {
      failed ??= { err };
    }
    const stored = this.#writes.untrack();
    if (failed) {
      // What it stored is named by no version: dropped after the failure (see #tidy).
      for (const hash of stored) this.#litter.add(hash);
      throw failed.err;
    }
    if (!whole) {
      // Stopped part-way: no version of part of a batch. What it stored is swept at the next
      // start, which reads those files again.
      this.#dirty = true;
      this.#o.log.info(
        { filesDone: progress.filesDone, filesTotal: progress.filesTotal },
        'publishing stopped before its version was cut',
      );
      return;
    }
    if (!this.#sameTree(walked)) {
      // The content directory is another directory now (a release moved into its place, a link
      // switched): this batch read some of its paths there and not the rest, and published, it
      // had been a version of neither directory (the new files beside the old ones). A walk of
      // the whole new directory publishes it as one version. What this batch stored is swept at
      // the next start if that version does not name it.
      this.#dirty = true;
      this.#o.log.info(
        { content: this.#o.contentDir, paths: named.length },
        'the content directory is another directory now: publishing it whole, after a walk of it',
      );
      void this.rewalk().catch((err) =>
        this.#o.log.error({ err }, 'walking the new content directory failed'),
      );
      return;
    }
    for (const [rel, delay] of unstable) this.#scheduleRetry(rel, delay);
    // A large file that failed, gone with its folder (no event names the file itself).
    for (const rel of this.#laneFailures.keys()) if (this.#goneNow(rel)) this.#laneSettled(rel);
    this.#dropCaseCollisions(changes);
    this.#holdBackClashes(changes);
    if (walked !== null && this.#wouldEmpty(changes)) {
      this.#holdEmpty();
      return;
    }
    if (this.#emptyRound > 0 && (walked !== null || changes.size > 0)) this.#endEmptyHold();
    if (changes.size > 0) {
      this.#commit([...changes.values()]);
      await this.#collect();
    }
  }

  /**
   * Examines paths, several at once, into `changes`; false when closing stopped it part-way.
   * Throws the first failure, once no examination is running.
   */
  async #examineAll(
    paths: readonly string[],
    trustIndex: boolean,
    changes: Map<string, Change>,
    unstable: Map<string, number | undefined>,
    progress: { filesDone: number },
  ): Promise<boolean> {
    let next = 0;
    let failed: { err: unknown } | undefined;
    // Small files are stat'ed and read with blocking calls (microseconds each when cached):
    // the loop gets its turn once a slice, not once a file.
    const slicer = new LoopSlicer(EXAMINE_SLICE_MS);
    const folders = new FoldersOnTheWay(this.#o.contentDir);
    const worker = async () => {
      // Closing stops a batch between files: a stop during a long first publish is prompt.
      while (next < paths.length && !failed && !this.#closed) {
        await slicer.pause();
        try {
          // The writer thread is behind (a slow disk): read no further ahead of it.
          if (this.#writes.crowded) await this.#writes.room();
        } catch (err) {
          failed ??= { err };
          break;
        }
        const rel = paths[next++];
        if (rel === undefined) break;
        try {
          await this.#examine(rel, trustIndex, changes, unstable, folders);
        } catch (err) {
          failed ??= { err };
        }
        progress.filesDone++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(EXAMINE_CONCURRENCY, paths.length) }, worker));
    if (failed) throw failed.err;
    return next >= paths.length;
  }

  /**
   * Holds back each put that would make a path both a file and a folder of the version (see
   * fileDirClashes), and looks again at that path, whose kind on disk settles which goes.
   */
  #holdBackClashes(changes: Map<string, Change>) {
    for (const { put, recheck } of fileDirClashes(this.#live, changes)) {
      changes.delete(put);
      this.#o.log.warn(
        { path: put, recheck },
        'held back a file that would have been both a file and a folder of the version; looking again',
      );
      this.#scheduleRetry(recheck, undefined);
    }
  }

  /**
   * True when the content directory still is the directory the tree was read from, or the
   * batch comes of a walk of the whole directory it is now (which then becomes the tree's; so
   * does a directory that was gone when the master started, once a walk has listed it).
   * A directory that is gone is left to #commit, which refuses to publish it.
   */
  #sameTree(walked: RootIdentity | null): boolean {
    const now = resolveRoot(this.#o.contentDir);
    if (now === null || (this.#treeRoot !== null && sameRoot(now, this.#treeRoot))) return true;
    if (walked === null || !sameRoot(walked, now)) return false;
    this.#treeRoot = now;
    return true;
  }

  /**
   * Drops versions past the retention policy and what only they needed. It runs inside the
   * publishing chain, so it never races a file being read into the store; each step is a
   * small transaction, with the event loop free between steps.
   */
  async #collect() {
    const r = this.#o.retention;
    if (!r) return;
    // A lane read's chunks are named by no version yet: pruning could drop one an old version
    // shared. Collected once the lane is idle (see #afterLane).
    if (this.#lane.busy) {
      this.#gcDeferred = true;
      return;
    }
    await this.#collecting(() => this.#prune(r));
  }

  /** Runs a step that drops chunks, noted so that a lane read waits for it to end before it stores any. */
  async #collecting(drop: () => Promise<void>): Promise<void> {
    const run = drop();
    this.#gcRunning = run.catch(() => undefined);
    try {
      await run;
    } finally {
      this.#gcRunning = null;
    }
  }

  async #prune(r: { versions: number; days?: number }) {
    const since = r.days === undefined ? undefined : Date.now() - r.days * 86_400_000;
    const keepFrom = this.#o.store.versions.retentionFloor(r.versions, since);
    const steps = pruneSteps(this.#o.store, { keepFrom });
    for (let s = steps.next(); ; s = steps.next()) {
      if (s.done) {
        const { deferred: _, ...stats } = s.value;
        if (stats.versions > 0) this.#o.log.info({ keepFrom, ...stats }, 'collected old versions');
        return;
      }
      await yieldToLoop();
    }
  }

  /** True (and recorded) when the path may not be published; clears an old refusal otherwise. */
  #refused(rel: string): boolean {
    const problem = contentPathProblem(rel);
    if (problem) this.#refuse(rel, problem);
    else this.problems.delete(rel);
    return problem !== null;
  }

  /** Records why a path is not published, logging it once. */
  #refuse(rel: string, problem: string) {
    this.#laneSettled(rel);
    if (this.problems.get(rel) !== problem)
      this.#o.log.warn({ path: rel, problem }, 'refusing to publish path');
    this.problems.set(rel, problem);
  }

  /**
   * Two paths that differ only in case (or Unicode normalisation) would overwrite each other on
   * Windows and macOS clients: a new path that folds onto one the tree keeps (or onto another
   * new one) is refused.
   */
  #dropCaseCollisions(changes: Map<string, Change>) {
    const claimed = new Map<string, string>();
    // Folders the batch's puts make, by their folded form: a file folding onto one of them is a twin too.
    const claimedDirs = new Map<string, string>();
    for (const change of changes.values()) {
      if (change.op === 'delete') continue;
      const path = change.entry.path;
      const key = foldCase(path);
      const kept = this.#live.foldedTwin(path);
      const keptStays = kept !== undefined && kept !== path && changes.get(kept)?.op !== 'delete';
      const other = keptStays ? kept : claimed.get(key);
      if (other !== undefined && other !== path) {
        changes.delete(path);
        this.#refuse(path, twinRefusal(path, other));
        continue;
      }
      const folder = this.#folderTwin(path, changes, claimed, claimedDirs);
      if (folder !== null) {
        changes.delete(path);
        const { mine, theirs } = folder;
        this.#refuse(path, `${twinRefusal(mine, theirs)}${mine === path ? '' : ` (its folder ${mine})`}`);
        continue;
      }
      claimed.set(key, path);
      for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) {
        const dir = path.slice(0, at);
        if (!claimedDirs.has(foldCase(dir))) claimedDirs.set(foldCase(dir), dir);
      }
    }
  }

  /**
   * A file and a folder whose names differ only in case (`DOCS` and `docs/a.txt`) would be one
   * name on Windows and macOS clients, as two files would: the path the put would collide
   * over, or null. Either the put's path folds onto a folder that stays (the live tree's, or
   * one this batch makes), or one of its folders folds onto a file that stays.
   */
  #folderTwin(
    path: string,
    changes: Map<string, Change>,
    claimed: Map<string, string>,
    claimedDirs: Map<string, string>,
  ): { mine: string; theirs: string } | null {
    const dir = this.#live.foldedDirTwin(path);
    if (dir !== undefined && dir !== path && this.#folderStays(dir, changes))
      return { mine: path, theirs: dir };
    const made = claimedDirs.get(foldCase(path));
    if (made !== undefined && made !== path) return { mine: path, theirs: made };
    for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) {
      const ancestor = path.slice(0, at);
      const live = this.#live.foldedTwin(ancestor);
      const file =
        live !== undefined && live !== ancestor && changes.get(live)?.op !== 'delete'
          ? live
          : claimed.get(foldCase(ancestor));
      if (file !== undefined && file !== ancestor) return { mine: ancestor, theirs: file };
    }
    return null;
  }

  /** True when some file of the live tree under `dir` is not deleted by `changes`. */
  #folderStays(dir: string, changes: Map<string, Change>): boolean {
    let deleted = 0;
    for (const c of changes.values()) if (c.op === 'delete' && c.path.startsWith(`${dir}/`)) deleted++;
    return (this.#live.dirs.get(dir) ?? 0) > deleted;
  }

  async #examine(
    rel: string,
    trustIndex: boolean,
    changes: Map<string, Change>,
    unstable: Map<string, number | undefined>,
    folders: FoldersOnTheWay,
  ) {
    if (this.#ignored(rel)) {
      // Published before an --exclude that leaves it out now (a restart with other patterns).
      this.problems.delete(rel);
      this.#markDeleted(rel, changes);
      return;
    }
    // Under a folder that is a symlink now (or a file, or gone), the path names no file of the
    // tree, whatever a stat through the link finds: what the tree holds here leaves it, and
    // the thing in the folder's place is judged at its own path.
    if (folders.blocked(rel) !== null) {
      this.problems.delete(rel);
      if (this.#live.hasDir(rel)) this.#leftFolder(rel, changes);
      this.#markDeleted(rel, changes);
      return;
    }
    const abs = join(this.#o.contentDir, rel);
    let st: Stats | null;
    try {
      st = lstatOrNull(abs);
    } catch (err) {
      // In a folder that cannot be searched (chmod 000): reported, and what the tree holds stays.
      if (!isFileSystemError(err)) throw err;
      this.#refuse(rel, `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return;
    }
    if (!st?.isSymbolicLink()) this.#links.drop(rel);
    if (st?.isDirectory()) {
      // Each file under a directory is judged by its own path (one under `_outpost/` is refused
      // and reported by name).
      const onDisk = new Set<string>();
      // A folder that cannot be read (permissions, I/O errors) is skipped as README promises:
      // what the tree holds under it stays. Taken for empty, it had been published as deleted.
      const unreadable: string[] = [];
      // The walk says again what is still unreadable (a folder, or a file as it is read); what
      // became readable, or went, is no problem now. Nor is what was refused at this path
      // before it was a folder (a pipe, a twin): the walk judges each file under it.
      for (const [path, problem] of this.problems) {
        if (path === rel || (path.startsWith(`${rel}/`) && problem.startsWith('unreadable')))
          this.problems.delete(path);
      }
      // A file of that name the tree holds is gone, replaced by the folder (in one burst, the
      // watcher names only the folder): left in, the version held both.
      if (this.#live.entries.has(rel)) this.#markDeleted(rel, changes);
      const onProblem = (path: string, problem: string, unreadableDir: boolean) => {
        this.#refuse(path, problem);
        if (unreadableDir) unreadable.push(`${path}/`);
      };
      const listed: string[] = [];
      const onListed = (dir: string) => listed.push(dir);
      for await (const file of walkFiles(this.#o.contentDir, rel, onProblem, this.#ignored, onListed)) {
        onDisk.add(file.path);
        if (this.#refused(file.path)) continue;
        if (file.link) await this.#examineLink(file.path, trustIndex, changes, unstable);
        else await this.#examineFile(file.path, trustIndex, changes, unstable);
      }
      // The folders it could list are watched, as after a whole-tree walk: one made readable
      // (its watch refused while it was not) is watched now.
      if (listed.length > 0) this.#o.onWalkedDirs?.(listed);
      for (const path of this.#under(rel)) {
        if (onDisk.has(path) || unreadable.some((dir) => path.startsWith(dir))) continue;
        this.#markDeleted(path, changes);
      }
      return;
    }
    // Not a folder (any more): what the tree holds under this name as one leaves it, whatever
    // is here now (nothing, a file, a link, a pipe), and so does what was refused in it.
    if (this.#live.hasDir(rel)) this.#leftFolder(rel, changes);
    if (st === null) {
      // A name that is not UTF-8 comes from the watcher as no file has it: still there, still refused.
      if (this.#undecodable(dirname(abs), basename(abs))) {
        this.#refuse(rel, 'name is not valid UTF-8');
        return;
      }
      this.problems.delete(rel);
    } else if (this.#refused(rel)) return;
    const special = st ? specialKind(st) : null;
    if (special) {
      this.#refuse(rel, special);
      this.#markDeleted(rel, changes);
      return;
    }
    if (st?.isFile()) {
      await this.#examineFile(rel, trustIndex, changes, unstable, st);
      return;
    }
    // Gone, or a symlink, judged as a link.
    if (st?.isSymbolicLink()) await this.#examineLink(rel, trustIndex, changes, unstable);
    else this.#markDeleted(rel, changes);
  }

  /**
   * A symlink is published with the bytes of the file it leads to, when that file is in the
   * tree; otherwise it is refused and reported, and leaves the tree.
   */
  async #examineLink(
    rel: string,
    trustIndex: boolean,
    changes: Map<string, Change>,
    unstable: Map<string, number | undefined>,
  ) {
    const target = this.#learnLink(rel);
    if (target.kind === 'refused') {
      this.#refuse(rel, target.problem);
      this.#markDeleted(rel, changes);
      return;
    }
    await this.#examineFile(rel, trustIndex, changes, unstable, target.st, target.real);
  }

  /** Where the link at `rel` leads, noted in the link index (`realRoot`: see resolveLink). */
  #learnLink(rel: string, realRoot?: string) {
    const target = resolveLink(this.#o.contentDir, join(this.#o.contentDir, rel), realRoot, this.#ignored);
    const wants = target.kind === 'file' ? target.rel : target.wants;
    if (wants === undefined) this.#links.drop(rel);
    else this.#links.set(rel, wants);
    return target;
  }

  /**
   * `st`: the path's lstat, when just made (it saves another); `source`: the file to read,
   * when it is not at `rel` (a symlink's target, with `st` its lstat).
   */
  async #examineFile(
    rel: string,
    trustIndex: boolean,
    changes: Map<string, Change>,
    unstable: Map<string, number | undefined>,
    st?: Stats,
    source?: string,
  ) {
    const abs = source ?? join(this.#o.contentDir, rel);
    if (trustIndex && this.#unchangedByIndex(rel, abs, st)) return;
    if (this.#laneOpen && !this.#closed && this.#forLane(st ?? laneStat(abs))) {
      // Read beside the batch, published as a version of its own: the rest of the batch does not wait.
      this.#lane.enqueue(source === undefined ? { rel } : { rel, source });
      changes.delete(rel);
      return;
    }
    let result: ReadResult;
    try {
      // A new file's chunks are told to replicas ahead of the version. An edited file keeps
      // most of its chunks (stored already), and those a patch may carry are not told.
      const held = this.#live.entries.get(rel)?.chunks;
      const sink = held ? editedFileSink(this.#writes, this.#writes.ahead, held) : this.#writes.ahead;
      result = await readFileIntoStore(abs, rel, sink, this.#settleOf(rel), st, () => this.#closed);
    } catch (err) {
      // One unreadable file (permissions, I/O error) is reported and skipped; the rest goes on,
      // and what the tree already holds for it stays as it was. The store failing to take its
      // chunks (a full disk) is no fault of the file: that fails the batch, to be tried again.
      if (!isFileSystemError(err)) throw err;
      this.#refuse(rel, `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return;
    }
    this.filesRead++;
    if (result.kind === 'gone') {
      this.#retryAttempts.delete(rel);
      this.#laneSettled(rel);
      this.#markDeleted(rel, changes);
      return;
    }
    if (result.kind === 'unstable') {
      this.#o.log.debug({ path: rel, reason: result.reason }, 'file is being written; will read it again');
      unstable.set(rel, result.retryInMs);
      return;
    }
    this.#readDone(rel, result, !source);
    const old = this.#live.entries.get(rel);
    // Same bytes under a new mtime is not a new version: what readers get has not changed
    // (unless the old mtime is one replicas refuse: see vouches).
    if (old && old.hash === result.entry.hash && old.size === result.entry.size && old.mtime >= 0) {
      changes.delete(rel);
      return;
    }
    changes.set(rel, { op: 'put', entry: result.entry });
    // Its other names hold the same new bytes: looked at next, not at the next rewalk.
    for (const other of this.#hardLinks.get(result.ino) ?? [])
      if (other !== rel && !changes.has(other) && this.#live.entries.get(other)?.hash !== result.entry.hash)
        this.#scheduleRetry(other, 0);
  }

  /** Keeps track of the names of a file that has several (nlink > 1), and forgets one that has not. */
  #noteLinks(rel: string, ino: number, nlink: number) {
    const was = this.#hardLinkOf.get(rel);
    if (was === ino && nlink > 1) return;
    if (was !== undefined) {
      const names = this.#hardLinks.get(was);
      names?.delete(rel);
      if (names?.size === 0) this.#hardLinks.delete(was);
      this.#hardLinkOf.delete(rel);
    }
    if (nlink <= 1) return;
    let names = this.#hardLinks.get(ino);
    if (!names) {
      names = new Set();
      this.#hardLinks.set(ino, names);
    }
    names.add(rel);
    this.#hardLinkOf.set(rel, ino);
  }

  #unchangedByIndex(rel: string, abs: string, lstatted?: Stats): boolean {
    const rec = this.#writes.scanRecord(rel);
    if (!rec) return false;
    let st = lstatted;
    try {
      st ??= lstatSync(abs);
    } catch {
      // Not vouched for: the read that follows meets the same error and reports it.
      return false;
    }
    return vouches(rec, st, this.#live.entries.get(rel));
  }

  #markDeleted(rel: string, changes: Map<string, Change>) {
    if (this.#live.entries.has(rel)) changes.set(rel, { op: 'delete', path: rel });
    else changes.delete(rel);
    this.#noteLinks(rel, 0, 0);
    this.#writes.forget(rel);
  }

  /** Deletes every file the tree holds under `dir`, which is a folder no more; its refusals go too. */
  #leftFolder(dir: string, changes: Map<string, Change>) {
    for (const path of this.#under(dir)) this.#markDeleted(path, changes);
    for (const path of this.problems.keys()) if (path.startsWith(`${dir}/`)) this.problems.delete(path);
  }

  /** Paths in the tree under a directory. */
  #under(dir: string): string[] {
    // A directory event is rare next to file events; a pass over the keys is acceptable here.
    const prefix = `${dir}/`;
    const out: string[] = [];
    for (const path of this.#live.entries.keys()) if (path.startsWith(prefix)) out.push(path);
    return out;
  }

  /** The wait before the attempt-th look again at a path that keeps moving. */
  #backoff(attempt: number): number {
    return Math.min(5000, (this.#o.retryMs ?? 100) * 2 ** (attempt - 1));
  }

  /**
   * How long a file must have been left alone before it is read: --settle-ms; for one that
   * changed while it was read (a download in progress), its backoff. Else every write the
   * watcher reports had it read whole again once --settle-ms had passed: a 300 MiB file
   * written at 10 MB/s, 1 MiB every 100 ms, cost the master 4.7 GiB of reads and 41 s of CPU.
   */
  #settleOf(rel: string): number {
    const settle = this.#o.settleMs ?? 0;
    const attempt = this.#retryAttempts.get(rel);
    return attempt === undefined ? settle : Math.max(settle, this.#backoff(attempt));
  }

  /** Looks at a path again later: after `delayMs`, or with a backoff while it keeps moving. */
  #scheduleRetry(rel: string, delayMs: number | undefined) {
    if (this.#closed || this.#retryTimers.has(rel)) return;
    let delay = delayMs;
    if (delay === undefined) {
      const attempt = (this.#retryAttempts.get(rel) ?? 0) + 1;
      this.#retryAttempts.set(rel, attempt);
      delay = this.#backoff(attempt);
    }
    const timer = setTimeout(() => {
      this.#retryTimers.delete(rel);
      if (this.#o.requeue) this.#o.requeue(rel);
      else void this.submit([rel]);
    }, delay);
    this.#retryTimers.set(rel, timer);
  }

  /** Cuts a version from the changes, in one transaction; null when they change nothing. `fromLane`: the lane's own version. */
  #commit(changes: Change[], fromLane = false): PublishedVersion | null {
    // A content directory moved away, deleted or unmounted reads as every file deleted: a
    // version of that would empty every replica. The batch fails instead and is tried again.
    // (A symlink to a directory is followed: the content directory may be given as one.)
    if (!statOrNull(this.#o.contentDir)?.isDirectory())
      throw new Error(
        `the content directory ${this.#o.contentDir} is gone (moved, deleted or unmounted): nothing published`,
      );
    this.#writes.flush();
    const plan = this.#live.plan(this.#datedForward(changes));
    if (plan.effective.length === 0) return null;
    const version = this.#o.store.versions.current().version + 1;
    const { root, files, bytes } = plan;
    this.#o.store.versions.commit({
      version,
      root,
      createdAt: Date.now(),
      files,
      bytes,
      changes: plan.effective,
    });
    plan.commit();
    const published = { version, root, files, bytes, changes: plan.effective.length };
    this.#o.log.info(published, 'published version');
    if (fromLane) this.#laneToldFor = null;
    else this.#toldLater(version);
    this.#o.onPublished(published);
    return published;
  }

  /**
   * The changes with each put of new content at a path dated past what the path held before
   * (see publishedMtime): the entry live now, or for a path deleted since, the last one the
   * store holds. A first publish has no before to look up.
   */
  #datedForward(changes: Change[]): Change[] {
    const now = Date.now();
    const history = this.#o.store.versions.current().version > 0;
    let out: Change[] | null = null;
    for (const [i, c] of changes.entries()) {
      if (c.op !== 'put') continue;
      const { entry } = c;
      const before =
        this.#live.entries.get(entry.path) ??
        (history ? this.#o.store.versions.latestEntry(entry.path) : undefined);
      const mtime = publishedMtime(entry, before, now);
      if (mtime === entry.mtime) continue;
      out ??= [...changes];
      out[i] = { op: 'put', entry: treeEntry(entry.path, entry.size, entry.hash, mtime, entry.chunks) };
    }
    return out ?? changes;
  }

  /**
   * A version other than the lane's was cut as `version`: what the lane told for it, or
   * before, is for a later one now. Said before the version goes out, so a replica does not
   * drop what it fetched ahead of the lane's version (to fetch it again with that version:
   * a 512 MiB file read beside an edit a second crossed the link 1.55 times).
   */
  #toldLater(version: number): void {
    const told = this.#laneToldFor;
    if (told === null || told > version) return;
    this.#laneToldFor = version + 1;
    try {
      this.#o.onToldLater?.(told, version + 1);
    } catch (err) {
      // A hint, as the telling itself: the version goes out either way.
      this.#o.log.warn({ err }, 'could not tell replicas that chunks told ahead are for a later version');
    }
  }
}

/** Thrown when a rollback names a version the master does not keep. */
export class VersionNotKeptError extends Error {
  override name = 'VersionNotKeptError';
  constructor(readonly version: number) {
    super(`version ${version} is not kept`);
  }
}

/** True when `path` lies in one of `dirs` (the root being ''). */
function liesIn(dirs: ReadonlySet<string>, path: string): boolean {
  if (dirs.size === 0) return false;
  if (dirs.has('')) return true;
  for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1))
    if (dirs.has(path.slice(0, slash))) return true;
  return false;
}

/**
 * True when the index's record of a file still holds for what is on disk now, and the tree's
 * entry for it may stay as it is: one published with an mtime before 1970 (as masters did
 * before entryMtime), which replicas refuse, is read again to be published with one they take.
 */
function vouches(rec: ScanRecord, st: Stats, entry: TreeEntry | undefined): boolean {
  return (
    entry !== undefined &&
    entry.hash === rec.hash &&
    entry.mtime >= 0 &&
    st.isFile() &&
    st.size === rec.size &&
    st.mtimeMs === rec.mtimeMs &&
    st.ino === rec.ino &&
    st.mtimeMs < rec.scannedAt - RACY_MS
  );
}

/** An error of a file system call on the content directory (it names its syscall), not of the store. */
function isFileSystemError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | undefined)?.syscall === 'string';
}

/** The path's lstat for judging whether it is for the lane; null when it cannot be had (the read reports why). */
function laneStat(abs: string): Stats | null {
  try {
    return lstatSync(abs);
  } catch {
    // Whatever failed (gone, unreadable) is met again by the read, which reports it.
    return null;
  }
}

/** The path's stat, following a symlink; null when nothing is there. */
const statOrNull = (abs: string) => orNull(() => statSync(abs));

/** The path's own lstat; null when nothing is there. */
const lstatOrNull = (abs: string) => orNull(() => lstatSync(abs));

function orNull(stat: () => Stats): Stats | null {
  try {
    return stat();
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}
