import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Node } from './crash-fleet.js';
import type { Prng } from './prng.js';

/** A version as the master publishes it: path → {hash, size}. */
export interface VersionManifest {
  version: number;
  root: string;
  entries: Map<string, { hash: string; size: number }>;
}

/**
 * The master's versions by number, fetched once each (versions are immutable). A number the
 * master no longer keeps is remembered as gone; while the master is down, lookups wait.
 */
export class ManifestCache {
  readonly #url: string;
  readonly #known = new Map<number, VersionManifest>();
  readonly #gone = new Set<number>();

  constructor(masterUrl: string) {
    this.#url = masterUrl;
  }

  /** The manifest, `'gone'` when the master does not keep it, or null when it cannot be asked now. */
  async get(version: number): Promise<VersionManifest | 'gone' | null> {
    const hit = this.#known.get(version);
    if (hit) return hit;
    if (this.#gone.has(version)) return 'gone';
    try {
      const res = await request(`${this.#url}/_outpost/api/v1/versions/${version}`);
      const text = await res.body.text();
      if (res.statusCode === 404) {
        this.#gone.add(version);
        return 'gone';
      }
      if (res.statusCode !== 200) return null;
      const body = JSON.parse(text) as { version: number; root: string; entries: any[] };
      const m: VersionManifest = {
        version: body.version,
        root: body.root,
        entries: new Map(body.entries.map((e) => [e.path as string, { hash: e.hash, size: e.size }])),
      };
      this.#known.set(version, m);
      return m;
    } catch {
      return null;
    }
  }

  /** Every manifest fetched so far. */
  all(): VersionManifest[] {
    return [...this.#known.values()];
  }

  /** A manifest already fetched. */
  peek(version: number): VersionManifest | undefined {
    return this.#known.get(version);
  }
}

export type ReaderProblemKind =
  | 'no-version-header'
  | 'wrong-version-body'
  | 'torn-or-corrupt-body'
  | 'served-outside-version'
  | 'missing-from-version'
  | 'bad-etag'
  | 'unexpected-status';

export interface ReaderProblem {
  kind: ReaderProblemKind;
  replica: string;
  path: string;
  version: number | null;
  status: number;
  detail: string;
  at: number;
}

export interface ReaderStats {
  responses: number;
  byStatus: Record<string, number>;
  /** 200 bodies checked against the manifest of the version in their header. */
  bodiesChecked: number;
  /** 404s checked against the version in their header. */
  notFoundChecked: number;
  /** Responses whose version the master no longer keeps (cannot be judged). */
  unverifiable: number;
  /** Connection errors while the process was dead or being killed: expected. */
  errorsWhileDown: number;
  /** Connection errors while the process was up the whole time. */
  errorsWhileUp: number;
  errorSamples: string[];
  problems: ReaderProblem[];
}

export function emptyReaderStats(): ReaderStats {
  return {
    responses: 0,
    byStatus: {},
    bodiesChecked: 0,
    notFoundChecked: 0,
    unverifiable: 0,
    errorsWhileDown: 0,
    errorsWhileUp: 0,
    errorSamples: [],
    problems: [],
  };
}

interface Pending {
  replica: string;
  path: string;
  status: number;
  version: number | null;
  hash: string;
  etag: string | undefined;
  at: number;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Background GETs against the replicas while they are up. Every response is judged against
 * the master's manifest of the version its X-Outpost-Version names: a 200 body must hash to
 * that version's entry (else it is from another version, or torn), a 404 must be for a path
 * outside that version. Judging waits while the master is down.
 */
export class Readers {
  readonly stats = emptyReaderStats();
  readonly #nodes: Node[];
  readonly #paths: () => string[];
  readonly #rng: Prng;
  readonly #cache: ManifestCache;
  readonly #pending: Pending[] = [];
  readonly #agent = new Agent({ keepAliveTimeout: 2_000, connections: 4 });
  #running = false;
  #loops: Promise<void>[] = [];
  #judging: Promise<void> | null = null;

  constructor(
    nodes: Node[],
    paths: () => string[],
    rng: Prng,
    cache: ManifestCache,
    readonly gapMs = 2,
  ) {
    this.#nodes = nodes;
    this.#paths = paths;
    this.#rng = rng;
    this.#cache = cache;
  }

  start(perReplica = 1): void {
    this.#running = true;
    for (const n of this.#nodes) for (let i = 0; i < perReplica; i++) this.#loops.push(this.#loop(n));
    this.#loops.push(this.#judgeLoop());
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#loops = [];
    await this.#agent.close();
  }

  /** Judges every response seen so far; responses that cannot be judged yet stay pending. */
  async flush(): Promise<number> {
    while (this.#judging) await this.#judging;
    this.#judging = this.#judge().finally(() => {
      this.#judging = null;
    });
    await this.#judging;
    return this.#pending.length;
  }

  async #judgeLoop() {
    while (this.#running) {
      await sleep(100);
      await this.flush();
    }
  }

  async #loop(n: Node) {
    while (this.#running) {
      if (!n.up) {
        await sleep(10);
        continue;
      }
      const epoch = n.epoch;
      const path = this.#rng.pick(this.#paths());
      try {
        const res = await request(`${n.url}/${path}`, { dispatcher: this.#agent, headersTimeout: 10_000 });
        const body = Buffer.from(await res.body.arrayBuffer());
        this.stats.responses++;
        this.stats.byStatus[res.statusCode] = (this.stats.byStatus[res.statusCode] ?? 0) + 1;
        const v = res.headers['x-outpost-version'];
        const etag = res.headers.etag;
        this.#pending.push({
          replica: n.name,
          path,
          status: res.statusCode,
          version: typeof v === 'string' ? Number(v) : null,
          hash: sha(body),
          etag: typeof etag === 'string' ? etag : undefined,
          at: Date.now(),
        });
      } catch (err) {
        if (n.epoch !== epoch || !n.up) this.stats.errorsWhileDown++;
        else {
          this.stats.errorsWhileUp++;
          if (this.stats.errorSamples.length < 20)
            this.stats.errorSamples.push(`${n.name} GET /${path}: ${(err as Error).message}`);
        }
      }
      if (this.gapMs > 0) await sleep(this.gapMs);
    }
  }

  async #judge() {
    const keep: Pending[] = [];
    const batch = this.#pending.splice(0);
    for (const p of batch) {
      const problem = (kind: ReaderProblemKind, detail: string) =>
        this.stats.problems.push({
          kind,
          replica: p.replica,
          path: p.path,
          version: p.version,
          status: p.status,
          detail,
          at: p.at,
        });
      if (p.status === 503) continue; // not serving a version yet: allowed, and says so
      if (p.status !== 200 && p.status !== 404) {
        problem('unexpected-status', `status ${p.status}`);
        continue;
      }
      if (p.version === null || !Number.isInteger(p.version)) {
        if (p.status === 200) problem('no-version-header', 'a 200 without X-Outpost-Version');
        continue;
      }
      const m = await this.#cache.get(p.version);
      if (m === null) {
        keep.push(p);
        continue;
      }
      if (m === 'gone') {
        this.stats.unverifiable++;
        continue;
      }
      const entry = m.entries.get(p.path);
      if (p.status === 404) {
        this.stats.notFoundChecked++;
        if (entry) problem('missing-from-version', `404, but version ${p.version} has ${p.path}`);
        continue;
      }
      this.stats.bodiesChecked++;
      if (!entry) {
        problem('served-outside-version', `200 for a path version ${p.version} does not have`);
        continue;
      }
      if (entry.hash !== p.hash) {
        problem(
          (await this.#inOtherVersion(p)) ? 'wrong-version-body' : 'torn-or-corrupt-body',
          `body ${p.hash.slice(0, 12)}, version ${p.version} has ${entry.hash.slice(0, 12)}`,
        );
        continue;
      }
      if (p.etag !== `"${entry.hash}"`) problem('bad-etag', `ETag ${p.etag}`);
    }
    this.#pending.unshift(...keep);
  }

  /** Whether the body is some other version's bytes for this path (a mix), not a torn one. */
  async #inOtherVersion(p: Pending): Promise<boolean> {
    for (let v = (p.version ?? 1) + 5; v >= Math.max(1, (p.version ?? 1) - 50); v--) {
      const m = this.#cache.peek(v) ?? (await this.#cache.get(v));
      if (m && m !== 'gone' && m.entries.get(p.path)?.hash === p.hash) return true;
    }
    return false;
  }
}
