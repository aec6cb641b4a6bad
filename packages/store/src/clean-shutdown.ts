import type { Store } from './store.js';

/**
 * Records that the service stopped cleanly, with nothing half-written: the next start may skip
 * the sweep for what a crash leaves behind (a pass over every chunk in the store).
 */
export function markCleanShutdown(store: Store): void {
  store.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean_shutdown', '1')").run();
}

/** True when the last run stopped cleanly. Clears the mark, so a crash of this run is noticed at the next start. */
export function takeCleanShutdown(store: Store): boolean {
  return store.db.prepare("DELETE FROM meta WHERE key = 'clean_shutdown'").run().changes > 0;
}
