import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { listMigrations, migrate } from './migrate.js';

describe('listMigrations', () => {
  it('lists the shipped SQL files in order, with their numbers', () => {
    const migrations = listMigrations();
    expect(migrations.length).toBeGreaterThanOrEqual(1);
    expect(migrations[0]!.number).toBe(1);
    expect(migrations[0]!.name).toBe('001-init.sql');
    expect(migrations[0]!.sql).toContain('CREATE TABLE chunks');
    const numbers = migrations.map((m) => m.number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const m of migrations) expect(m.name).toMatch(/^\d{3}-[a-z0-9-]+\.sql$/);
  });
});

describe('migrate', () => {
  it('applies every migration to a new database and sets user_version', () => {
    const db = new BetterSqlite3(':memory:');
    try {
      const latest = listMigrations().at(-1)!.number;
      expect(db.pragma('user_version', { simple: true })).toBe(0);
      expect(migrate(db)).toBe(listMigrations().length);
      expect(db.pragma('user_version', { simple: true })).toBe(latest);
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual([
        'chunks',
        'content_chunks',
        'contents',
        'encodings',
        'entries',
        'meta',
        'replicas',
        'scan_index',
        'versions',
      ]);
    } finally {
      db.close();
    }
  });

  it('is idempotent: a second run applies nothing and keeps data', () => {
    const db = new BetterSqlite3(':memory:');
    try {
      migrate(db);
      db.prepare("INSERT INTO meta (key, value) VALUES ('k', 'v')").run();
      expect(migrate(db)).toBe(0);
      expect(migrate(db)).toBe(0);
      expect(db.prepare("SELECT value FROM meta WHERE key = 'k'").pluck().get()).toBe('v');
      expect(db.pragma('user_version', { simple: true })).toBe(listMigrations().at(-1)!.number);
    } finally {
      db.close();
    }
  });

  it('refuses a database newer than the known migrations and leaves it alone', () => {
    const db = new BetterSqlite3(':memory:');
    try {
      db.pragma('user_version = 1000');
      expect(() => migrate(db)).toThrow(/schema 1000 is newer/);
      expect(db.pragma('user_version', { simple: true })).toBe(1000);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });
});
