import { LiveTree } from '@outpost/core';
import type { Database } from 'better-sqlite3';
import type { VersionStore } from './version-store.js';
import { writeTransaction } from './write-transaction.js';

/**
 * Rewrites the root of every held version under the current root definition, when a
 * migration asked for it: oldest version in full, then each next one by its changes, all in
 * one transaction. Returns the number of versions rewritten.
 */
export function recomputeRoots(db: Database, versions: VersionStore): number {
  const marker = db.prepare("SELECT value FROM meta WHERE key = 'recompute_roots'").pluck().get();
  if (marker === undefined) return 0;
  const held = versions
    .list()
    .map((v) => v.version)
    .sort((a, b) => a - b);
  const setRoot = db.prepare('UPDATE versions SET root = ? WHERE version = ?');
  const setMeta = db.prepare("UPDATE meta SET value = ? WHERE key = 'current_root'");
  writeTransaction(db, () => {
    let live: LiveTree | undefined;
    let prev = 0;
    for (const v of held) {
      if (!live) live = new LiveTree(versions.treeAt(v)!.values());
      else live.plan(versions.changesBetween(prev, v)).commit();
      setRoot.run(live.root, v);
      prev = v;
    }
    if (live && prev === versions.current().version) setMeta.run(live.root);
    db.prepare("DELETE FROM meta WHERE key = 'recompute_roots'").run();
  })();
  return held.length;
}
