import { existsSync, mkdirSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { runCli, type Service, startMaster, startReplica, tempDir } from '../helpers/services.js';

/** One process of the fleet, across its incarnations: same port, same data dir. */
export interface Node {
  readonly name: string;
  readonly kind: 'master' | 'replica';
  readonly data: string;
  readonly port: number;
  readonly url: string;
  readonly store: string;
  svc: Service | undefined;
  /** True from "listening" until the kill is decided (readers only send while up). */
  up: boolean;
  /** Bumped at every kill: a reader whose request spans two epochs saw a death. */
  epoch: number;
  /** The restart in flight, if any. */
  starting: Promise<void> | null;
  starts: number;
  kills: number;
}

export interface CrashFleetOptions {
  replicas: string[];
  masterArgs?: string[];
  replicaArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * A master and replicas started through the real CLI, each on a fixed port so readers and
 * replicas find them again after a restart, with kill -9 and restart as single steps.
 */
export class CrashFleet {
  readonly dir = tempDir('outpost-crash-');
  readonly content = join(this.dir.path, 'content');
  readonly master: Node;
  readonly replicas: Node[];
  readonly #o: CrashFleetOptions;
  readonly #env: NodeJS.ProcessEnv;

  private constructor(o: CrashFleetOptions, ports: number[]) {
    this.#o = o;
    this.#env = { OUTPOST_LOG_LEVEL: 'info', ...o.env };
    mkdirSync(this.content, { recursive: true });
    const node = (name: string, kind: Node['kind'], port: number): Node => {
      const data = join(this.dir.path, kind === 'master' ? 'master' : `replica-${name}`);
      return {
        name,
        kind,
        data,
        port,
        url: `http://127.0.0.1:${port}`,
        store: join(data, kind === 'master' ? 'master.sqlite' : 'replica.sqlite'),
        svc: undefined,
        up: false,
        epoch: 0,
        starting: null,
        starts: 0,
        kills: 0,
      };
    };
    this.master = node('master', 'master', ports[0]!);
    this.replicas = o.replicas.map((name, i) => node(name, 'replica', ports[i + 1]!));
  }

  static async create(o: CrashFleetOptions): Promise<CrashFleet> {
    const ports: number[] = [];
    while (ports.length < o.replicas.length + 1) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    return new CrashFleet(o, ports);
  }

  get nodes(): Node[] {
    return [this.master, ...this.replicas];
  }

  node(name: string): Node {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Starts (or restarts) a node; resolves once it listens. */
  start(n: Node): Promise<void> {
    if (n.starting) return n.starting;
    if (n.up) return Promise.resolve();
    const run = (async () => {
      const svc =
        n.kind === 'master'
          ? await startMaster({
              content: this.content,
              data: n.data,
              port: n.port,
              env: this.#env,
              args: this.#o.masterArgs ?? [],
            })
          : await startReplica({
              name: n.name,
              region: n.name.split('-')[0] ?? 'test',
              master: this.master.url,
              data: n.data,
              port: n.port,
              env: this.#env,
              args: this.#o.replicaArgs ?? [],
            });
      n.svc = svc;
      n.starts++;
      n.up = true;
    })().finally(() => {
      n.starting = null;
    });
    n.starting = run;
    return run;
  }

  /** kill -9; resolves with the moment the signal was sent, once the process is gone. */
  async kill(n: Node): Promise<number> {
    if (n.starting) await n.starting;
    if (!n.svc || !n.up) throw new Error(`${n.name} is not running`);
    n.up = false;
    n.epoch++;
    n.kills++;
    const at = Date.now();
    await n.svc.kill();
    return at;
  }

  /** `outpost verify --data DIR --json` on a stopped node's data dir. */
  async verify(n: Node): Promise<{ code: number | null; report: any; output: string }> {
    if (n.up || n.starting) throw new Error(`${n.name} must be stopped to be verified`);
    const r = await runCli(['verify', '--data', n.data, '--json'], this.#env);
    let report: any = null;
    try {
      report = JSON.parse(r.stdout)[n.store];
    } catch {
      // Not JSON: the output says why.
    }
    return { code: r.code, report, output: (r.stdout + r.stderr).slice(-4000) };
  }

  /** Copies a stopped node's store files (db, -wal, -shm) as they are, for an offline check. */
  async copyStore(n: Node, to: string): Promise<string> {
    if (n.up || n.starting) throw new Error(`${n.name} must be stopped to be copied`);
    mkdirSync(to, { recursive: true });
    const dest = join(to, n.kind === 'master' ? 'master.sqlite' : 'replica.sqlite');
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(n.store + suffix)) await copyFile(n.store + suffix, dest + suffix);
    }
    return dest;
  }

  /** Kills whatever still runs and removes the temp dir (unless `keep`). */
  async close(keep = false): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.starting));
    await Promise.allSettled(
      this.nodes.map(async (n) => {
        n.up = false;
        await n.svc?.kill();
      }),
    );
    if (!keep) this.dir.cleanup();
  }
}
