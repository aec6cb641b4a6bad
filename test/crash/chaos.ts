import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { merkleRoot } from '@outpost/core';
import { request } from 'undici';
import { waitFor } from '../helpers/wait-for.js';
import { type ChangeInfo, ContentModel, type ContentOptions } from './content.js';
import { CrashFleet, type Node } from './crash-fleet.js';
import { Prng } from './prng.js';
import { ManifestCache, type ReaderStats, Readers } from './readers.js';
import {
  chunkLists,
  LiveProbe,
  orphans,
  type StoreSnapshot,
  snapshotStore,
  verifyCopy,
} from './store-probe.js';

export interface ChaosOptions {
  seed: number;
  /** Rounds run until at least this many kill points are done (a round always finishes). */
  kills: number;
  /** Kill events between two round-end checks; targets alternate A, B, master, both replicas. */
  eventsPerRound: number;
  /** Kills land 0 … this many ms after a change is written. */
  maxDelayMs?: number;
  content: ContentOptions;
  replicas?: string[];
  masterArgs?: string[];
  /** The master's --keep-versions: few, so collection runs (and is killed) too, and stores stay small. */
  keepVersions?: number;
  /** Every n-th kill of a process is aimed at a narrow window (0: none). */
  aimEvery?: number;
  /** How long an aimed kill waits for its window before it fires anyway. */
  aimWindowMs?: number;
  /** Readers per replica. */
  readers?: number;
  /** Pause between one reader's requests. */
  readerGapMs?: number;
  convergeTimeoutMs?: number;
  /** Check every intermediate kill's store too (in-process verifyStore on a copy of its files). */
  checkEachKill?: boolean;
  /** Stop starting new rounds after this long (the report says so). */
  budgetMs?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export type Phase =
  | 'idle'
  | 'before-fetch'
  | 'fetch'
  | 'verify-commit'
  | 'switch-prune'
  | 'before-publish'
  | 'publishing'
  | 'after-publish'
  | 'unknown';

/** Where a kill was aimed: a random moment, or a narrow window watched for in the store. */
export type Aim = 'random' | 'commit' | 'switch' | 'publish';

export interface KillPoint {
  round: number;
  event: string;
  aim: Aim;
  target: string;
  kind: Node['kind'];
  delayMs: number;
  at: number;
  phase: Phase;
  final: boolean;
  snap: StoreSnapshot | null;
  change: ChangeInfo;
}

export interface ChaosSummary {
  seed: number;
  rounds: number;
  kills: KillPoint[];
  readers: ReaderStats;
  cliVerifyRuns: number;
  copyVerifyRuns: number;
  verifyFailures: string[];
  failures: string[];
  convergenceMs: number[];
  versions: number;
  restarts: number;
  elapsedMs: number;
  stoppedByBudget: boolean;
  orphans: Record<string, { contents: number; chunks: number; chunkBytes: number } | null>;
  /** CPU seconds of the harness's own process (readers, checks), apart from the services. */
  harnessCpuS: number;
}

interface VersionRow {
  version: number;
  root: string;
  createdAt: string;
  files: number;
  bytes: number;
}

const TARGET_CYCLE = ['A', 'B', 'M', 'AB'] as const;

/**
 * The crash harness: a master and two replicas started through the CLI, readers GETting from
 * the replicas throughout, and rounds of kill -9 at random moments after changes are written
 * (while versions are published, fetched, applied and switched to). Every round ends with all
 * three killed, `outpost verify` on each stopped store, a restart, and the checks: each replica
 * serves exactly one complete published version, the fleet converges to the master's latest
 * root, the master's versions only grow and each one's entries give its root.
 */
export class Chaos {
  readonly o: Required<Omit<ChaosOptions, 'budgetMs' | 'log' | 'masterArgs'>> &
    Pick<ChaosOptions, 'budgetMs' | 'log' | 'masterArgs'>;
  readonly rng: Prng;
  fleet!: CrashFleet;
  model!: ContentModel;
  cache!: ManifestCache;
  readers!: Readers;
  readonly kills: KillPoint[] = [];
  readonly failures: string[] = [];
  readonly verifyFailures: string[] = [];
  readonly convergenceMs: number[] = [];
  cliVerifyRuns = 0;
  copyVerifyRuns = 0;
  #eventCounter = 0;
  #replicaKills = 0;
  #masterKills = 0;
  /** version → root, as ever seen from the master: a number must never come back with another root. */
  readonly #roots = new Map<number, string>();
  readonly #createdAt = new Map<number, number>();
  readonly #deepChecked = new Set<number>();
  #maxVersion = 0;
  readonly #rows = new Map<number, VersionRow>();
  #watching = false;
  /** Chunk lists of large contents, from the master's store. */
  readonly #chunks = new Map<string, string[]>();
  #watcher: Promise<void> | null = null;
  /** Copies of stores taken at intermediate kills, checked at the round's end (the check blocks). */
  #copies: { name: string; round: number; file: string }[] = [];

  constructor(o: ChaosOptions) {
    this.o = {
      maxDelayMs: 300,
      replicas: ['uk-a', 'asia-b'],
      readers: 1,
      readerGapMs: 5,
      convergeTimeoutMs: 20_000,
      keepVersions: 10,
      aimEvery: 3,
      aimWindowMs: 800,
      checkEachKill: true,
      keep: false,
      ...o,
    };
    this.rng = new Prng(o.seed);
  }

  log(line: string): void {
    this.o.log?.(line);
  }

  fail(what: string): void {
    if (this.failures.includes(what)) return;
    this.failures.push(what);
    this.log(`FAILURE: ${what}`);
  }

  async run(): Promise<ChaosSummary> {
    const started = Date.now();
    const cpu = process.cpuUsage();
    this.fleet = await CrashFleet.create({
      replicas: this.o.replicas,
      masterArgs: ['--keep-versions', String(this.o.keepVersions), ...(this.o.masterArgs ?? [])],
    });
    this.model = new ContentModel(this.fleet.content, this.rng.fork('content'), this.o.content);
    this.model.seed();
    this.cache = new ManifestCache(this.fleet.master.url);
    this.readers = new Readers(
      this.fleet.replicas,
      () => this.model.pool,
      this.rng.fork('readers'),
      this.cache,
    );
    let rounds = 0;
    let stoppedByBudget = false;
    const orphanCounts: ChaosSummary['orphans'] = {};
    try {
      await this.fleet.start(this.fleet.master);
      await Promise.all(this.fleet.replicas.map((n) => this.fleet.start(n)));
      await this.converge('start');
      await this.checkMasterVersions();
      this.readers.start(this.o.readers);
      this.#watching = true;
      this.#watcher = this.#watchMaster();
      while (this.kills.length < this.o.kills) {
        if (this.o.budgetMs !== undefined && Date.now() - started > this.o.budgetMs) {
          stoppedByBudget = true;
          break;
        }
        await this.round(rounds);
        rounds++;
        this.log(
          `round ${rounds}: ${this.kills.length} kill points, ${this.readers.stats.responses} reader responses, ` +
            `${this.failures.length + this.verifyFailures.length + this.readers.stats.problems.length} problems, ` +
            `${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
      this.#watching = false;
      await this.#watcher;
      await this.readers.stop();
      const left = await this.readers.flush();
      if (left > 0) this.fail(`${left} reader responses could not be judged (master unreachable)`);
      await Promise.all(this.fleet.nodes.map((n) => this.fleet.kill(n)));
      for (const n of this.fleet.nodes) orphanCounts[n.name] = orphans(n.store);
    } catch (err) {
      this.#watching = false;
      this.fail(`run aborted: ${(err as Error).stack ?? err}`);
      await this.readers.stop().catch(() => undefined);
    } finally {
      await this.fleet.close(this.o.keep || this.failures.length > 0 || this.verifyFailures.length > 0);
      if (this.o.keep || this.failures.length > 0 || this.verifyFailures.length > 0)
        this.log(`state kept in ${this.fleet.dir.path}`);
    }
    return {
      seed: this.o.seed,
      rounds,
      kills: this.kills,
      readers: this.readers.stats,
      cliVerifyRuns: this.cliVerifyRuns,
      copyVerifyRuns: this.copyVerifyRuns,
      verifyFailures: this.verifyFailures,
      failures: this.failures,
      convergenceMs: this.convergenceMs,
      versions: this.#maxVersion,
      restarts: this.fleet.nodes.reduce((s, n) => s + n.starts - 1, 0),
      elapsedMs: Date.now() - started,
      stoppedByBudget,
      orphans: orphanCounts,
      harnessCpuS: (() => {
        const u = process.cpuUsage(cpu);
        return (u.user + u.system) / 1e6;
      })(),
    };
  }

  #targets(code: string): Node[] {
    const [a, b] = this.fleet.replicas;
    if (code === 'A') return [a!];
    if (code === 'B') return [b!];
    if (code === 'M') return [this.fleet.master];
    if (code === 'AB') return [a!, b!];
    return this.fleet.nodes;
  }

  async round(r: number): Promise<void> {
    const firstKill = this.kills.length;
    // The last round stops near the number of kills asked for (an event kills 1.25 on average).
    const left = this.o.kills - this.kills.length - this.fleet.nodes.length;
    const events = Math.max(0, Math.min(this.o.eventsPerRound, Math.ceil(left / 1.25)));
    for (let e = 0; e < events; e++) {
      const code = TARGET_CYCLE[this.#eventCounter++ % TARGET_CYCLE.length]!;
      await this.event(r, code, false);
    }
    await this.event(r, 'all', true);
    this.#checkCopies();

    // Every process is down: each store must open and pass its own check.
    await Promise.all(
      this.fleet.nodes.map(async (n) => {
        const v = await this.fleet.verify(n);
        this.cliVerifyRuns++;
        if (v.code !== 0) {
          this.verifyFailures.push(`round ${r} ${n.name}: outpost verify exited ${v.code}: ${v.output}`);
          this.log(`VERIFY FAILURE round ${r} ${n.name}: ${v.output}`);
          return;
        }
        const snap = this.kills.findLast((k) => k.target === n.name)?.snap;
        if (snap && v.report && v.report.current !== snap.current)
          this.fail(
            `round ${r} ${n.name}: verify says current ${v.report.current}, the store read ${snap.current}`,
          );
      }),
    );

    const heldBefore = new Map(
      this.fleet.replicas.map((n) => [
        n.name,
        this.kills.findLast((k) => k.target === n.name)?.snap?.current ?? 0,
      ]),
    );
    await Promise.all(this.fleet.nodes.map((n) => this.#restart(n)));
    // Straight after the restart: each replica serves a whole version, and never an older one.
    for (const n of this.fleet.replicas) {
      const v = await this.checkServes(n, `round ${r} after restart`);
      if (v !== null && v < heldBefore.get(n.name)!)
        this.fail(
          `round ${r} ${n.name}: serves version ${v} after restart, held ${heldBefore.get(n.name)} before`,
        );
    }
    await this.converge(`round ${r}`);
    await this.checkMasterVersions();
    this.classify(this.kills.slice(firstKill));
  }

  /**
   * One change written, then kill -9 of each target: most at a random 0 … maxDelayMs after the
   * change; every third replica kill is aimed instead (alternately at "all chunks stored, not
   * committed" and "just committed": the apply transaction and the switch), and every third
   * master kill at "storing the change's chunks". Then restart (unless final).
   */
  async event(round: number, code: string, final: boolean): Promise<void> {
    const targets = this.#targets(code);
    const t0 = Date.now();
    await Promise.all(targets.map((n) => this.#ensureUp(n)));
    if (process.env.CRASH_DEBUG) this.log(`event ${code}: waited ${Date.now() - t0} ms for targets`);
    const delays = targets.map(() => this.rng.int(0, this.o.maxDelayMs + 1));
    const aims = targets.map((n): Aim => {
      if (final || this.o.aimEvery <= 0) return 'random';
      const i = n.kind === 'master' ? this.#masterKills++ : this.#replicaKills++;
      if (i % this.o.aimEvery !== this.o.aimEvery - 1) return 'random';
      if (n.kind === 'master') return 'publish';
      return Math.floor(i / this.o.aimEvery) % 2 === 0 ? 'commit' : 'switch';
    });
    const baseline = aims.includes('publish') ? this.#probe(this.fleet.master, (p) => p.lastChunk()) : -1;
    const change = this.model.change();
    await Promise.all(
      targets.map(async (n, i) => {
        const aim = aims[i]!;
        if (aim === 'random') {
          const wait = change.at + delays[i]! - Date.now();
          if (wait > 0) await sleep(wait);
        } else {
          await this.#aim(n, aim, change, baseline, change.at + this.o.aimWindowMs);
        }
        const at = await this.fleet.kill(n);
        const snap = snapshotStore(n.store);
        this.kills.push({
          round,
          event: code,
          aim,
          target: n.name,
          kind: n.kind,
          delayMs: at - change.at,
          at,
          phase: 'unknown',
          final,
          snap,
          change,
        });
        if (n.kind === 'master') this.model.touch(); // a change made while the master is down
        if (final) return;
        if (this.o.checkEachKill) {
          const copy = await this.fleet.copyStore(n, join(this.fleet.dir.path, `check-${n.name}-${n.kills}`));
          this.#copies.push({ name: n.name, round, file: copy });
        }
        void this.#restart(n).catch(() => undefined);
      }),
    );
  }

  #probe<T>(n: Node, f: (p: LiveProbe) => T): T {
    const p = new LiveProbe(n.store);
    try {
      return f(p);
    } finally {
      p.close();
    }
  }

  /**
   * Watches the target's store (and the master's) every millisecond or so until the aimed
   * moment, or the deadline. The read-only connections are opened afresh now and then: one
   * opened while a restarted process recovers its WAL can keep an old view.
   */
  async #aim(n: Node, aim: Aim, change: ChangeInfo, baseline: number, deadline: number): Promise<void> {
    const bigs = change.big.map((b) => b.hash);
    let target: LiveProbe | undefined;
    let master: LiveProbe | undefined;
    const close = () => {
      target?.close();
      master?.close();
      target = master = undefined;
    };
    let lists: string[] | null = null;
    try {
      for (let i = 0; Date.now() < deadline; i++) {
        if (i % 20 === 0) close();
        target ??= new LiveProbe(n.store);
        if (aim === 'publish') {
          // Past the chunks of the small files (one each): the large ones are being stored.
          if (target.lastChunk() > baseline + change.paths.length && !target.committed(bigs)) return;
        } else {
          master ??= new LiveProbe(this.fleet.master.store);
          lists ??= master.chunkLists(bigs)?.flat() ?? null;
          if (lists) {
            const committed = target.committed(bigs);
            if (aim === 'switch' ? committed : !committed && target.present(lists) === lists.length) return;
          }
        }
        await sleep(2);
      }
    } finally {
      close();
    }
  }

  /**
   * The store's own full check (verifyStore, in this process) of every copy taken at this
   * round's intermediate kills. It runs while every service is down after the round's last
   * kills: the check is synchronous, and must not delay kills or readers.
   */
  #checkCopies(): void {
    for (const { name, round, file } of this.#copies.splice(0)) {
      try {
        const { clean, report } = verifyCopy(file);
        this.copyVerifyRuns++;
        if (!clean)
          this.verifyFailures.push(`round ${round} ${name} (copy at kill): ${JSON.stringify(report)}`);
      } catch (err) {
        this.verifyFailures.push(
          `round ${round} ${name} (copy at kill): could not open: ${(err as Error).message}`,
        );
      } finally {
        rmSync(join(file, '..'), { recursive: true, force: true });
      }
    }
  }

  async #restart(n: Node): Promise<void> {
    try {
      await this.fleet.start(n);
    } catch (err) {
      this.fail(`${n.name} did not restart after kill -9: ${(err as Error).message}`);
      throw err;
    }
  }

  async #ensureUp(n: Node): Promise<void> {
    if (n.starting) await n.starting;
    if (!n.up) await this.#restart(n);
  }

  /**
   * GETs every path that ever existed (and one that never did) from a replica. Each response
   * must agree with the manifest of the version it names; when they all name one version, every
   * file of that version was served whole and nothing else was. Returns the version served.
   */
  async checkServes(n: Node, when: string, expect?: { version: number }): Promise<number | null> {
    const paths = [...this.model.pool, 'docs/never-written.txt'];
    const seen = new Set<number>();
    for (const path of paths) {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(`${n.url}/${path}`);
      } catch (err) {
        this.fail(`${when}: ${n.name} GET /${path}: ${(err as Error).message}`);
        return null;
      }
      let body: Buffer;
      try {
        body = Buffer.from(await res.body.arrayBuffer());
      } catch (err) {
        // A body cut short by a replica nobody killed: say which, and what it logged.
        const said = (n.svc?.logs ?? [])
          .filter((l) => Number(l.level) >= 40)
          .slice(-5)
          .map((l) => JSON.stringify(l))
          .join('\n');
        this.fail(
          `${when}: ${n.name} GET /${path}: ${res.statusCode} v${res.headers['x-outpost-version']} ` +
            `${res.headers['content-length']} bytes: body cut: ${(err as Error).message}; up ${n.up}; ` +
            `its warnings: ${said || 'none'}`,
        );
        return null;
      }
      if (res.statusCode === 503) continue;
      const v = Number(res.headers['x-outpost-version']);
      if (!Number.isInteger(v)) {
        this.fail(`${when}: ${n.name} GET /${path}: ${res.statusCode} without X-Outpost-Version`);
        continue;
      }
      seen.add(v);
      const m = await this.cache.get(v);
      if (m === null || m === 'gone') {
        this.fail(
          `${when}: ${n.name} serves version ${v}, which the master ${m === 'gone' ? 'does not keep' : 'cannot show'}`,
        );
        continue;
      }
      const entry = m.entries.get(path);
      if (res.statusCode === 200) {
        const hash = createHash('sha256').update(body).digest('hex');
        if (!entry) this.fail(`${when}: ${n.name} serves /${path}, which version ${v} does not have`);
        else if (entry.hash !== hash) this.fail(`${when}: ${n.name} /${path} at version ${v}: wrong bytes`);
      } else if (res.statusCode === 404) {
        if (entry) this.fail(`${when}: ${n.name} /${path}: 404, but version ${v} has it`);
      } else {
        this.fail(`${when}: ${n.name} /${path}: status ${res.statusCode}`);
      }
    }
    if (expect && (seen.size !== 1 || !seen.has(expect.version)))
      this.fail(`${when}: ${n.name} served versions [${[...seen]}], expected only ${expect.version}`);
    if (seen.size === 1) {
      const v = [...seen][0]!;
      const m = this.cache.peek(v);
      const pool = new Set(paths);
      for (const p of m?.entries.keys() ?? [])
        if (!pool.has(p)) this.fail(`${when}: version ${v} has unknown ${p}`);
      return v;
    }
    return seen.size === 0 ? null : Math.max(...seen);
  }

  /** Waits until the master has published what is on disk and every replica holds it; then checks each serves it. */
  async converge(when: string): Promise<void> {
    const started = Date.now();
    let last = '';
    try {
      const target = await waitFor(
        async () => {
          const s = await json(`${this.fleet.master.url}/_outpost/api/v1/status`);
          const m = await this.cache.get(s.version);
          if (!m || m === 'gone') return null;
          last = `master at ${s.version}`;
          if (m.entries.size !== this.model.tree.size) return null;
          for (const [p, h] of this.model.tree) if (m.entries.get(p)?.hash !== h) return null;
          for (const n of this.fleet.replicas) {
            const rs = await json(`${n.url}/_outpost/api/v1/status`);
            last = `master at ${s.version}; ${n.name} at ${rs.version} (${rs.state}, ${rs.link}, ${rs.error ?? 'no error'})`;
            if (rs.version !== s.version || rs.root !== s.root) return null;
          }
          return { version: s.version as number, root: s.root as string };
        },
        { timeoutMs: this.o.convergeTimeoutMs, intervalMs: 20, what: 'the fleet to converge' },
      );
      this.convergenceMs.push(Date.now() - started);
      this.#noteRoot(target.version, target.root, when);
      for (const n of this.fleet.replicas) await this.checkServes(n, `${when} converged`, target);
    } catch (err) {
      this.fail(
        `${when}: did not converge in ${this.o.convergeTimeoutMs} ms (${last}): ${(err as Error).message}`,
      );
    }
  }

  #noteRoot(version: number, root: string, when: string) {
    const known = this.#roots.get(version);
    if (known !== undefined && known !== root)
      this.fail(
        `${when}: version ${version} reused: root ${root.slice(0, 12)}, earlier ${known.slice(0, 12)}`,
      );
    else this.#roots.set(version, root);
  }

  /**
   * The master's versions list: newest first, numbers never reused or going back. Every new
   * version's manifest is fetched at once (so versions the master later collects are judged too).
   */
  async pollVersions(): Promise<boolean> {
    let list: VersionRow[];
    try {
      list = await json(`${this.fleet.master.url}/_outpost/api/v1/versions`);
    } catch {
      return false;
    }
    for (let i = 1; i < list.length; i++)
      if (list[i]!.version >= list[i - 1]!.version)
        this.fail(`versions list not newest first: ${list.map((v) => v.version)}`);
    const newest = list[0]?.version ?? 0;
    if (newest < this.#maxVersion)
      this.fail(`master's newest version went back: ${newest} < ${this.#maxVersion}`);
    this.#maxVersion = Math.max(this.#maxVersion, newest);
    for (const v of list) {
      this.#noteRoot(v.version, v.root, 'versions list');
      if (!this.#rows.has(v.version)) {
        this.#rows.set(v.version, v);
        this.#createdAt.set(v.version, Date.parse(v.createdAt));
      }
      await this.cache.get(v.version);
    }
    return true;
  }

  async #watchMaster(): Promise<void> {
    while (this.#watching) {
      if (this.fleet.master.up && (await this.pollVersions())) this.#learnChunks();
      await sleep(150);
    }
  }

  /**
   * Every version seen: its entries give its root (as `outpost verify` recomputes it from the
   * store), its file and byte counts, and every entry is content the test wrote (never a file
   * caught half-written).
   */
  async checkMasterVersions(): Promise<void> {
    if (!(await this.pollVersions())) {
      this.fail('versions list: the master does not answer');
      return;
    }
    for (const m of this.cache.all()) {
      const row = this.#rows.get(m.version);
      if (!row || this.#deepChecked.has(m.version)) continue;
      this.#deepChecked.add(m.version);
      const leaves = [...m.entries].map(([path, e]) => ({ path, hash: e.hash, size: e.size }));
      if (merkleRoot(leaves) !== row.root || m.root !== row.root)
        this.fail(`version ${m.version}: entries do not give its root`);
      if (leaves.length !== row.files)
        this.fail(`version ${m.version}: ${leaves.length} entries, recorded ${row.files}`);
      const bytes = leaves.reduce((s, e) => s + e.size, 0);
      if (bytes !== row.bytes)
        this.fail(`version ${m.version}: entries add up to ${bytes} bytes, recorded ${row.bytes}`);
      for (const e of leaves)
        if (!this.model.written.get(e.path)?.has(e.hash))
          this.fail(
            `version ${m.version}: ${e.path} has content the test never wrote (${e.hash.slice(0, 12)})`,
          );
    }
  }

  /** Learns the chunk lists of large contents the master has published (to place kills in phases). */
  #learnChunks(): void {
    const want = new Set<string>();
    for (const m of this.cache.all())
      for (const [p, e] of m.entries) if (p.startsWith('pkg/') && !this.#chunks.has(e.hash)) want.add(e.hash);
    if (want.size === 0) return;
    for (const [h, list] of chunkLists(this.fleet.master.store, want)) this.#chunks.set(h, list);
  }

  /**
   * Places each kill of a round in a phase, from the store read at the kill and the master's
   * history. The master: before it read the change, while it stored its chunks, after it
   * committed the version. A replica: idle (holds the master's latest), before fetching,
   * fetching chunks, all chunks in hand but not committed (verify and commit), or switched
   * with older versions still being collected.
   */
  classify(kills: KillPoint[]): void {
    this.#learnChunks();
    for (const k of kills) {
      const s = k.snap;
      if (!s) continue;
      if (k.kind === 'master') {
        const mine = k.change.big.map((b) => b.hash);
        const present = mine.some((h) => this.#chunks.get(h)?.some((c) => s.chunks.has(c)));
        if (mine.every((h) => s.contents.has(h))) k.phase = 'after-publish';
        else if (present) k.phase = 'publishing';
        else k.phase = 'before-publish';
      } else {
        let latest = 0;
        for (const [v, t] of this.#createdAt) if (t <= k.at && v > latest) latest = v;
        if (s.current >= latest) {
          k.phase = s.versions > 1 || s.deadEntries > 0 ? 'switch-prune' : 'idle';
        } else {
          const wanted = new Set<string>();
          for (let v = s.current + 1; v <= latest; v++)
            for (const [p, e] of this.cache.peek(v)?.entries ?? [])
              if (p.startsWith('pkg/')) wanted.add(e.hash);
          let total = 0;
          let present = 0;
          for (const h of wanted) {
            if (s.contents.has(h)) continue;
            for (const c of this.#chunks.get(h) ?? []) {
              total++;
              if (s.chunks.has(c)) present++;
            }
          }
          k.phase = present === 0 ? 'before-fetch' : present < total ? 'fetch' : 'verify-commit';
        }
      }
      if (process.env.CRASH_DEBUG)
        this.log(`kill ${k.target} +${k.delayMs} ms (${k.aim}): ${k.phase}; store at ${s.current}`);
      // The sets are only needed for this; a long run keeps a thousand kill points.
      k.snap = { ...s, chunks: new Set(), contents: new Set() };
    }
  }
}

async function json(url: string): Promise<any> {
  const res = await request(url);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** The summary table: kill points by target and phase, readers, verify runs, convergence. */
export function formatSummary(s: ChaosSummary): string {
  const phases: Phase[] = [
    'before-publish',
    'publishing',
    'after-publish',
    'idle',
    'before-fetch',
    'fetch',
    'verify-commit',
    'switch-prune',
    'unknown',
  ];
  const targets = [...new Set(s.kills.map((k) => k.target))];
  const used = phases.filter((p) => s.kills.some((k) => k.phase === p));
  const w = Math.max(10, ...targets.map((t) => t.length));
  const col = (x: string | number) => String(x).padStart(Math.max(8, ...used.map((p) => p.length)) + 1);
  const lines: string[] = [];
  lines.push(`seed ${s.seed} (OUTPOST_CRASH_SEED=${s.seed} replays this plan)`);
  lines.push('');
  lines.push(`kill points by target and phase`);
  lines.push(`${'target'.padEnd(w)}${used.map(col).join('')}${col('total')}`);
  for (const t of targets) {
    const mine = s.kills.filter((k) => k.target === t);
    lines.push(
      `${t.padEnd(w)}${used.map((p) => col(mine.filter((k) => k.phase === p).length || '-')).join('')}${col(mine.length)}`,
    );
  }
  lines.push(
    `${'all'.padEnd(w)}${used.map((p) => col(s.kills.filter((k) => k.phase === p).length)).join('')}${col(s.kills.length)}`,
  );
  const events = new Map<string, number>();
  for (const k of s.kills) events.set(k.event, (events.get(k.event) ?? 0) + 1);
  lines.push(`kill points by event: ${[...events].map(([e, n]) => `${e} ${n}`).join(', ')}`);
  for (const aim of ['publish', 'commit', 'switch'] as const) {
    const mine = s.kills.filter((k) => k.aim === aim);
    if (mine.length === 0) continue;
    const landed = new Map<string, number>();
    for (const k of mine) landed.set(k.phase, (landed.get(k.phase) ?? 0) + 1);
    lines.push(
      `  aimed at ${aim}: ${mine.length}, landed ${[...landed].map(([p, n]) => `${p} ${n}`).join(', ')}`,
    );
  }
  const r = s.readers;
  const torn = r.problems.filter((p) => p.kind === 'torn-or-corrupt-body').length;
  const mixed = r.problems.filter((p) => p.kind === 'wrong-version-body').length;
  const other = r.problems.length - torn - mixed;
  const rows: [string, string | number][] = [
    ['rounds', s.rounds + (s.stoppedByBudget ? ' (stopped by the time budget)' : '')],
    ['kill points', s.kills.length],
    ['restarts (through the CLI)', s.restarts],
    ['versions published (newest number)', s.versions],
    ['reader responses', r.responses],
    [
      '  by status',
      Object.entries(r.byStatus)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    ],
    ['  200 bodies checked against their version', r.bodiesChecked],
    ['  404s checked against their version', r.notFoundChecked],
    ['  not judgeable (version no longer kept)', r.unverifiable],
    ['  connection errors while killed (expected)', r.errorsWhileDown],
    ['  connection errors while up', r.errorsWhileUp],
    ['torn/corrupt responses', torn],
    ['mixed (other version) responses', mixed],
    ['other reader problems', other],
    ['outpost verify runs (stopped stores)', s.cliVerifyRuns],
    ['in-process verify of a copy at each other kill', s.copyVerifyRuns],
    ['verify failures', s.verifyFailures.length],
    ['other check failures', s.failures.length],
    [
      'convergence after restart p50 / max',
      `${percentile(s.convergenceMs, 50)} ms / ${s.convergenceMs.length ? Math.max(...s.convergenceMs) : Number.NaN} ms (${s.convergenceMs.length} rounds)`,
    ],
    [
      'orphaned rows at the end (contents / chunks)',
      Object.entries(s.orphans)
        .map(([n, o]) =>
          o ? `${n} ${o.contents} / ${o.chunks} (${(o.chunkBytes / 1048576).toFixed(1)} MiB)` : `${n} ?`,
        )
        .join('; '),
    ],
    ['elapsed', `${(s.elapsedMs / 1000).toFixed(1)} s (harness process CPU ${s.harnessCpuS.toFixed(1)} s)`],
  ];
  lines.push('');
  for (const [k, v] of rows) lines.push(`${k.padEnd(48)}${v}`);
  for (const f of [...s.verifyFailures, ...s.failures].slice(0, 30)) lines.push(`  ! ${f.slice(0, 600)}`);
  for (const p of r.problems.slice(0, 30))
    lines.push(`  ! reader ${p.kind}: ${p.replica} /${p.path} v${p.version} ${p.status}: ${p.detail}`);
  for (const e of r.errorSamples.slice(0, 10)) lines.push(`  ~ ${e}`);
  return lines.join('\n');
}
