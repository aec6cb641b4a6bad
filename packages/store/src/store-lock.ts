import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { compactCopyPath } from './compact-copy-path.js';
import { openStore, type Store } from './store.js';

/** Another process holds the store: two services writing one store would corrupt each other's view. */
export class StoreInUseError extends Error {
  override name = 'StoreInUseError';
}

/** A store taken for this process alone. */
export interface StoreLock {
  release(): void;
}

/**
 * Takes the store at `file` for this process alone, until `release()` or the end of the
 * process (kill -9 included: the lock is the operating system's, on `<file>.lock`, and goes
 * with the process; the file itself stays and means nothing). Reading the store from another
 * process (`outpost verify`) is not affected. Throws StoreInUseError when another process
 * holds it.
 */
export function lockStore(file: string, role: string): StoreLock {
  mkdirSync(dirname(file), { recursive: true });
  // SQLite's own file locks, through a database of its own: a transaction begun EXCLUSIVE and
  // never ended holds a POSIX lock that no other process (nor connection) can take.
  const db = new BetterSqlite3(`${file}.lock`, { timeout: 0 });
  try {
    // SQLite opens a file it may not write read-only, without a word, and then a lock taken
    // on it holds nothing: two services (or a compaction) ran on one store, which was damaged.
    // A lock file left by root (a service or `outpost compact` run as root) did that.
    accessSync(`${file}.lock`, constants.W_OK);
  } catch (err) {
    db.close();
    throw new StoreInUseError(
      `cannot lock the store ${file}: ${file}.lock is not writable by this user (${(err as NodeJS.ErrnoException).code}; owned by root?): give it to the user the service runs as (chown), as the store is`,
    );
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StoreInUseError(
        `${dirname(file)} is in use by another outpost ${role}, which holds ${file}: stop that one first, or give this one a --data of its own`,
      );
    }
    throw err;
  }
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}

/** Takes the store for this process (see lockStore), then opens it; the lock goes with it. */
export function openLockedStore(file: string, role: string): Store & { lock: StoreLock } {
  const lock = lockStore(file, role);
  try {
    // A compaction cut short (`outpost compact` killed) left its copy, as large as the store:
    // only ever made under this lock, so what is found here is no one's.
    rmSync(compactCopyPath(file), { force: true });
    rmSync(`${compactCopyPath(file)}-journal`, { force: true });
    return Object.assign(openStore(file), { lock });
  } catch (err) {
    lock.release();
    throw err;
  }
}
