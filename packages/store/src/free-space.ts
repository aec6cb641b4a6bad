import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';

/**
 * Bytes the store at `file` can still grow by: what its volume has free for this user
 * (`statfs`'s available blocks) plus the pages the database holds free inside itself, which
 * SQLite fills before it makes the file longer.
 */
export function storeFreeBytes(db: Database, file: string): number {
  const fs = statfsSync(dirname(file));
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  return fs.bavail * fs.bsize + freePages * pageSize;
}
