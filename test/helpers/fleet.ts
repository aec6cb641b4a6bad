import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { get, getJson } from './http.js';
import { type Service, startMaster, startReplica, tempDir } from './services.js';
import { waitFor } from './wait-for.js';

export interface FleetOptions {
  files?: Record<string, string | Buffer>;
  replicas?: { name: string; region: string; env?: NodeJS.ProcessEnv; args?: string[]; master?: string }[];
  env?: NodeJS.ProcessEnv;
  masterArgs?: string[];
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A master and its replicas on 127.0.0.1, with a content dir to edit and helpers to check them. */
export class Fleet {
  readonly dir = tempDir();
  readonly content = join(this.dir.path, 'content');
  master!: Service;
  readonly replicas = new Map<string, Service>();
  readonly #o: FleetOptions;
  #masterPort = 0;

  constructor(o: FleetOptions = {}) {
    this.#o = o;
    mkdirSync(this.content, { recursive: true });
    for (const [rel, data] of Object.entries(o.files ?? {})) this.write(rel, data);
  }

  static async start(o: FleetOptions = {}): Promise<Fleet> {
    const fleet = new Fleet(o);
    await fleet.startMaster();
    await Promise.all((o.replicas ?? []).map((r) => fleet.startReplica(r.name, r.region, r)));
    return fleet;
  }

  /** Starts the master (again, on the same port); `env` is laid over the fleet's own. */
  async startMaster(o: { env?: NodeJS.ProcessEnv } = {}): Promise<Service> {
    this.master = await startMaster({
      content: this.content,
      data: join(this.dir.path, 'master'),
      ...(this.#masterPort ? { port: this.#masterPort } : {}),
      env: { ...this.#o.env, ...o.env },
      args: this.#o.masterArgs ?? [],
    });
    this.#masterPort = Number(new URL(this.master.url).port);
    return this.master;
  }

  async startReplica(
    name: string,
    region: string,
    o: { env?: NodeJS.ProcessEnv; args?: string[]; master?: string } = {},
  ): Promise<Service> {
    const r = await startReplica({
      name,
      region,
      master: o.master ?? this.master.url,
      data: join(this.dir.path, `replica-${name}`),
      env: { ...this.#o.env, ...o.env },
      args: o.args ?? [],
    });
    this.replicas.set(name, r);
    return r;
  }

  replica(name: string): Service {
    const r = this.replicas.get(name);
    if (!r) throw new Error(`no replica ${name}`);
    return r;
  }

  write(rel: string, data: string | Buffer): void {
    const abs = join(this.content, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, data);
  }

  remove(rel: string): void {
    rmSync(join(this.content, rel), { recursive: true, force: true });
  }

  rename(from: string, to: string): void {
    mkdirSync(dirname(join(this.content, to)), { recursive: true });
    renameSync(join(this.content, from), join(this.content, to));
  }

  /** Every file in the content dir, and every symlink to one of them, path → sha256. */
  diskTree(): Map<string, string> {
    const out = new Map<string, string>();
    const root = `${realpathSync(this.content)}/`;
    const walk = (rel: string) => {
      for (const d of readdirSync(join(this.content, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) walk(p);
        else if (d.isFile()) out.set(p, sha(readFileSync(join(this.content, p))));
        else if (d.isSymbolicLink()) {
          const real = realpathOrNull(join(this.content, p));
          if (real?.startsWith(root) && statSync(real).isFile()) out.set(p, sha(readFileSync(real)));
        }
      }
    };
    walk('');
    return out;
  }

  masterStatus(headers: Record<string, string> = {}): Promise<any> {
    return getJson(`${this.master.url}/_outpost/api/v1/status`, headers);
  }

  replicaStatus(name: string): Promise<any> {
    return getJson(`${this.replica(name).url}/_outpost/api/v1/status`);
  }

  /** Waits until the master has published exactly what is on disk; returns that version. */
  async masterCaughtUp(timeoutMs = 15_000): Promise<{ version: number; root: string; entries: any[] }> {
    const disk = this.diskTree();
    return waitFor(
      async () => {
        const s = await this.masterStatus();
        if (s.version === 0 && disk.size > 0) return null;
        const v = await getJson(`${this.master.url}/_outpost/api/v1/versions/${s.version}`);
        if (v.entries.length !== disk.size) return null;
        for (const e of v.entries) if (disk.get(e.path) !== e.hash) return null;
        return v as { version: number; root: string; entries: any[] };
      },
      { timeoutMs, what: 'master to publish what is on disk' },
    );
  }

  /**
   * Waits until every named replica holds the master's latest version, then checks that each
   * serves every file of it byte for byte, and 404 for each path in `gone`.
   */
  async expectConverged(names = [...this.replicas.keys()], gone: string[] = [], timeoutMs = 20_000) {
    const v = await this.masterCaughtUp(timeoutMs);
    for (const name of names) {
      await waitFor(
        async () => {
          const s = await this.replicaStatus(name);
          return s.version === v.version && s.root === v.root;
        },
        { timeoutMs, what: `${name} to reach version ${v.version}` },
      );
      for (const e of v.entries) {
        const res = await get(
          `${this.replica(name).url}/${e.path.split('/').map(encodeURIComponent).join('/')}`,
        );
        expect(res.status, `${name} GET ${e.path}`).toBe(200);
        expect(sha(res.body), `${name} bytes of ${e.path}`).toBe(e.hash);
        expect(res.headers['x-outpost-version']).toBe(String(v.version));
        expect(res.headers.etag).toBe(`"${e.hash}"`);
      }
      for (const path of gone) {
        const res = await get(`${this.replica(name).url}/${path}`);
        expect(res.status, `${name} GET ${path} after delete`).toBe(404);
      }
    }
    return v;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.replicas.values()].map((r) => r.stop()));
    await this.master?.stop();
    this.dir.cleanup();
  }
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return null;
    throw err;
  }
}
