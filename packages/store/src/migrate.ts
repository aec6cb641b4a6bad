import { readdirSync, readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { writeTransaction } from './write-transaction.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE = /^(\d{3})-[a-z0-9-]+\.sql$/;

/** The numbered SQL migrations shipped with this package, in order. */
export function listMigrations(): { number: number; name: string; sql: string }[] {
  return readdirSync(MIGRATIONS_DIR)
    .map((name) => ({ name, match: FILE.exec(name) }))
    .filter((m): m is { name: string; match: RegExpExecArray } => m.match !== null)
    .map(({ name, match }) => ({
      number: Number(match[1]),
      name,
      sql: readFileSync(new URL(name, MIGRATIONS_DIR), 'utf8'),
    }))
    .sort((a, b) => a.number - b.number);
}

/** Applies every migration newer than the database's user_version, each in its own transaction. */
export function migrate(db: Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = listMigrations().filter((m) => m.number > current);
  const known = listMigrations().at(-1)?.number ?? 0;
  if (current > known) {
    throw new Error(`store schema ${current} is newer than this program knows (${known}); upgrade Outpost`);
  }
  for (const m of pending) {
    writeTransaction(db, () => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.number}`);
    })();
  }
  return pending.length;
}
