import type { Store } from './store.js';

/** A rollback under way: to version `to`, from the latest version `from` it was started on. */
export interface PendingRollback {
  to: number;
  from: number;
}

/**
 * Records that a rollback is changing the content directory: a crash before its version is cut
 * leaves the directory half rolled back, and the next start finishes it rather than publish that
 * half as a version.
 */
export function markPendingRollback(store: Store, r: PendingRollback): void {
  store.db
    .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('rollback', ?)")
    .run(JSON.stringify({ to: r.to, from: r.from }));
}

/** The rollback a crash cut short, or null. */
export function pendingRollback(store: Store): PendingRollback | null {
  const row = store.db.prepare("SELECT value FROM meta WHERE key = 'rollback'").get() as
    | { value: string }
    | undefined;
  return row ? (JSON.parse(row.value) as PendingRollback) : null;
}

/** The rollback is published (or given up): nothing to finish at the next start. */
export function clearPendingRollback(store: Store): void {
  store.db.prepare("DELETE FROM meta WHERE key = 'rollback'").run();
}
