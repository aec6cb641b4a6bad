import type { Database, Statement } from 'better-sqlite3';

/** The master's durable record of one replica. */
export interface ReplicaRecord {
  name: string;
  region: string;
  version: number;
  root: string;
  lastSeenAt: number | null;
  error: string | null;
  advertise: string | null;
  link: 'push' | 'pull' | 'offline';
}

/** Every replica the master has ever seen, kept across restarts. */
export class ReplicaRegistry {
  readonly #all: Statement<[]>;
  readonly #remove: Statement<[string]>;
  readonly #upsert: Statement<
    [string, string, number, string, number | null, string | null, string | null, string]
  >;

  constructor(db: Database) {
    this.#all = db.prepare(
      `SELECT name, region, version, root, last_seen_at AS lastSeenAt, error, advertise, link
       FROM replicas ORDER BY region, name`,
    );
    this.#remove = db.prepare('DELETE FROM replicas WHERE name = ?');
    this.#upsert = db.prepare(
      `INSERT INTO replicas (name, region, version, root, last_seen_at, error, advertise, link)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET region = excluded.region, version = excluded.version,
         root = excluded.root, last_seen_at = excluded.last_seen_at, error = excluded.error,
         advertise = excluded.advertise, link = excluded.link`,
    );
  }

  /** Every replica, ordered by region and name. */
  all(): ReplicaRecord[] {
    return this.#all.all() as ReplicaRecord[];
  }

  /** Deletes a replica's record; false when there was none. */
  remove(name: string): boolean {
    return this.#remove.run(name).changes > 0;
  }

  /** Writes a replica's record. */
  save(r: ReplicaRecord): void {
    this.#upsert.run(r.name, r.region, r.version, r.root, r.lastSeenAt, r.error, r.advertise, r.link);
  }
}
