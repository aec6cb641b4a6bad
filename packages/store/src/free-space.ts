import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';

/**
 * Most bytes the main connection writes to the WAL during a bulk load before it waits for a
 * checkpoint to drain it (see WalCheckpointer's `capBytes`): the WAL a large sync may need.
 */
export const WAL_CAP_BYTES = 64 * 1024 * 1024;

/** Room kept for what a failure needs afterwards: deleting what it stored, in the WAL. */
export const WRITE_MARGIN_BYTES = 1024 * 1024;

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

/** The length of the store's WAL file (0 when there is none). */
export function walFileBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/** What the store's WAL takes and will take of its volume. */
export interface WalRoom {
  /** The WAL file's length now (see walFileBytes). */
  walBytes: number;
  /**
   * Bytes the database file must still grow by to take the pages only the WAL holds: a
   * checkpoint copies them there, and the WAL is let go only after. Counted against the room,
   * or a store whose last version is still in its WAL is let to fill its volume, and then can
   * neither checkpoint nor delete.
   */
  pendingBytes: number;
  /** Room kept spare for what a failure needs afterwards: deleting what it stored goes through the WAL. */
  spareBytes: number;
}

/** The store's WAL as it stands (a stat of each file and two pragmas: cheap). */
export function walRoom(db: Database, file: string): WalRoom {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  let fileBytes = 0;
  try {
    fileBytes = statSync(file).size;
  } catch {
    // A store being created has no file yet: every page is still to be written.
  }
  return {
    walBytes: walFileBytes(file),
    pendingBytes: Math.max(0, pages * pageSize - fileBytes),
    spareBytes: WRITE_MARGIN_BYTES,
  };
}

/**
 * Room on the volume that writing `bytes` into the store takes on top of the bytes themselves:
 * every page goes to the WAL first and is then copied into the database, and the WAL holds up
 * to `capBytes` of them (see WalCheckpointer) before it starts over from its beginning. The
 * WAL file as it is already takes that much of it (it is reused, never shrunk, unless
 * truncated).
 */
export function walOverheadBytes(bytes: number, walBytes: number, capBytes = WAL_CAP_BYTES): number {
  return Math.max(0, Math.min(bytes, capBytes) - walBytes);
}

/**
 * True when `err` says the store's volume (or the database's size limit) is full: SQLite's
 * SQLITE_FULL, the file system's ENOSPC, or a message that carries either as its cause (an
 * apply error wrapping it, a writer thread's failure, a refusal for lack of room).
 */
export function isOutOfSpace(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  if (e?.code === 'SQLITE_FULL' || e?.code === 'ENOSPC') return true;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return /database or disk is full|not enough disk space|ENOSPC|SQLITE_FULL/.test(message);
}

/** What {@link truncateWal} did. */
export interface WalTruncation {
  /** True when the WAL was wholly copied into the database and cut to nothing. */
  truncated: boolean;
  /** Bytes the WAL file held before, and after. */
  before: number;
  after: number;
  /** Why it could not be done (a full disk, a reader holding old frames), when it could not. */
  error?: string;
}

/**
 * Copies the whole WAL into the database and cuts the WAL file to nothing
 * (`wal_checkpoint(TRUNCATE)`). SQLite never shrinks the WAL by itself: after a load that
 * filled the volume it keeps its high-water mark, and on a full disk that room is what a later
 * write lacks. Never throws: a checkpoint that cannot finish (no room for the database to grow,
 * a reader on old frames) leaves everything as it was, and is tried again later.
 */
export function truncateWal(db: Database, file: string): WalTruncation {
  const before = walFileBytes(file);
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    const after = walFileBytes(file);
    if (r?.busy !== 0) return { truncated: false, before, after, error: 'a reader or writer held the WAL' };
    return { truncated: true, before, after };
  } catch (err) {
    return { truncated: false, before, after: walFileBytes(file), error: (err as Error).message };
  }
}

/**
 * Why `bytes` more of chunks would not fit the store's volume with room to spare, or null when
 * they would. It counts what the database file must still grow by for pages only the WAL holds
 * (the checkpoint copies them there), the bytes themselves (less the free pages they reuse),
 * the WAL they pass through, and a margin. A store let to fill its volume to the last byte
 * cannot mend itself: deleting what a failed write stored needs room in the WAL, and cutting
 * the WAL down needs room for the database to take its pages (see truncateWal). One statfs and
 * a few pragmas: cheap next to the megabytes it guards.
 */
export function writeRoomProblem(db: Database, file: string, bytes: number): string | null {
  if (bytes <= 0) return null;
  const fs = statfsSync(dirname(file));
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  const { walBytes, pendingBytes, spareBytes } = walRoom(db, file);
  const grow = Math.max(0, bytes - freePages * pageSize);
  const wal = walOverheadBytes(bytes, walBytes);
  const need = pendingBytes + grow + wal + spareBytes;
  const free = fs.bavail * fs.bsize;
  if (need <= free) return null;
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return `not enough disk space: storing ${mib(bytes)} of chunks needs ${mib(need)} on the data volume (with SQLite's WAL and ${mib(WRITE_MARGIN_BYTES)} kept spare), and it has ${mib(free)} free`;
}

/** A store's size on disk. */
export interface StoreFootprint {
  /** The database file and its WAL. */
  bytes: number;
  /** Its free pages: reused by later versions, given back to the volume by `outpost compact`. */
  freeBytes: number;
}

/** The store's size on disk and what of it is free pages (two stats and two pragmas: for a scrape). */
export function storeFootprint(db: Database, file: string): StoreFootprint {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  let fileBytes = 0;
  try {
    fileBytes = statSync(file).size;
  } catch {
    // Not written yet: a store just created.
  }
  return { bytes: fileBytes + walFileBytes(file), freeBytes: freePages * pageSize };
}
