import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { openStore, type Store } from './store.js';
import { lockStore, type StoreLock } from './store-lock.js';

/** A store SQLite finds damaged, or that is not a database at all: the user's to sort out, not a crash. */
export class StoreDamagedError extends Error {
  override name = 'StoreDamagedError';
}

/** True for SQLite's errors that say the database file is damaged, or is not a database. */
export function isStoreDamage(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * Moves a store's file and its WAL aside, to `<file>.damaged` (replacing an older copy, so at
 * most one is kept), for a new store to start in their place; returns the new name.
 */
export function moveStoreAside(file: string): string {
  const aside = `${file}.damaged`;
  // The WAL of an older copy must not be taken for this one's.
  rmSync(`${aside}-wal`, { force: true });
  rmSync(`${aside}-shm`, { force: true });
  renameSync(file, aside);
  try {
    renameSync(`${file}-wal`, `${aside}-wal`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  rmSync(`${file}-shm`, { force: true });
  return aside;
}

/** Where a running service notes damage found in its store, for the next start to act on. */
const foundMark = (file: string) => `${file}.damage-found`;

/**
 * Notes that the store at `file` was found damaged while running (a read deep in its pages,
 * which a start's own reads do not reach): openRenewingDamaged renews it at the next start.
 */
export function markStoreDamaged(file: string, why: string): void {
  writeFileSync(foundMark(file), why);
}

/** Why the store at `file` was marked damaged while running, or null. */
function damageFound(file: string): string | null {
  try {
    return readFileSync(foundMark(file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Takes the store at `file` for this process, opens it and runs `read` on it. For a store
 * whose content can always be fetched again (a replica's): when the open or `read` finds it
 * damaged, or the last run marked it so (markStoreDamaged), it is moved aside (`onDamaged`
 * is told where), and a new, empty store is opened and read in its place. Other errors are
 * thrown, the lock released.
 */
export function openRenewingDamaged<T>(
  file: string,
  role: string,
  read: (store: Store) => T,
  onDamaged: (err: Error, movedTo: string) => void,
): { store: Store & { lock: StoreLock }; value: T } {
  const lock = lockStore(file, role);
  const attempt = () => {
    const store = Object.assign(openStore(file), { lock });
    try {
      return { store, value: read(store) };
    } catch (err) {
      store.close();
      throw err;
    }
  };
  try {
    const found = damageFound(file);
    if (found !== null) {
      onDamaged(new Error(found), moveStoreAside(file));
      rmSync(foundMark(file));
      return attempt();
    }
    try {
      return attempt();
    } catch (err) {
      if (!isStoreDamage(err)) throw err;
      onDamaged(err as Error, moveStoreAside(file));
      return attempt();
    }
  } catch (err) {
    lock.release();
    throw err;
  }
}
