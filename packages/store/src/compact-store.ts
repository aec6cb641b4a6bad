import {
  chmodSync,
  chownSync,
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { compactCopyPath } from './compact-copy-path.js';
import { WRITE_MARGIN_BYTES, walFileBytes } from './free-space.js';
import { lockStore, StoreInUseError } from './store-lock.js';

/** What compacting one store did. */
export interface CompactReport {
  file: string;
  /** Bytes of the database and its WAL, before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Pages SQLite held free inside the file (left by collected versions), and their size. */
  freePages: number;
  pageSize: number;
  /** False when there was nothing to give back: the file is left as it was. */
  compacted: boolean;
  ms: number;
}

export interface CompactOptions {
  /** Bytes free for this user on the volume of `dir` (default: statfs). */
  volumeFree?: (dir: string) => number;
  /** Told once the copy is about to be written (it takes a while for a large store): its bytes, and those given back. */
  onCopy?: (liveBytes: number, freeBytes: number) => void;
}

/** The volume lacks the room for the compacted copy, written beside the store before it replaces it. */
export class CompactRoomError extends Error {
  override name = 'CompactRoomError';
}

/**
 * Room the compacted copy needs on the store's volume: its live pages, a margin, and the
 * header and b-tree pages VACUUM may lay out otherwise (a page in a hundred).
 */
export function compactRoomNeeded(livePages: number, pageSize: number): number {
  return Math.ceil(livePages * 1.01) * pageSize + WRITE_MARGIN_BYTES;
}

/**
 * Gives back the free pages of a stopped service's store (`outpost compact`): what collected
 * versions left, which SQLite reuses but never returns to the volume. The store is copied
 * without them (VACUUM INTO) beside itself, the copy checked and made durable, and then
 * renamed over it, so that a crash or a full disk at any point leaves the store as it was.
 * Takes the store's lock: a running service holding it is refused (StoreInUseError).
 */
export function compactStore(file: string, opts: CompactOptions = {}): CompactReport {
  const started = Date.now();
  let lock: ReturnType<typeof lockStore>;
  try {
    lock = lockStore(file, 'service');
  } catch (err) {
    if (!(err instanceof StoreInUseError)) throw err;
    throw new StoreInUseError(
      `${file} is held by a running outpost service: stop it first (compacting needs the store to itself; readers go to other replicas meanwhile)`,
    );
  }
  try {
    lockToOwner(file);
    return compactLocked(file, started, opts);
  } finally {
    lock.release();
  }
}

function volumeFree(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

function compactLocked(file: string, started: number, opts: CompactOptions): CompactReport {
  const copy = compactCopyPath(file);
  // What an earlier run cut short left: never the store itself, which is only ever renamed onto.
  rmSync(copy, { force: true });
  rmSync(`${copy}-journal`, { force: true });
  const bytesBefore = statSync(file).size + walFileBytes(file);
  const db = new BetterSqlite3(file, { fileMustExist: true });
  let pageSize: number;
  let freePages: number;
  try {
    // Everything the WAL holds goes into the file first: the copy is of the file as a whole.
    const cp = db.pragma('wal_checkpoint(TRUNCATE)', { simple: false }) as { busy: number }[];
    if (cp[0]?.busy)
      throw new StoreInUseError(
        `${file} is being read by another process (outpost verify?): compact it once that has ended`,
      );
    pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    freePages = db.pragma('freelist_count', { simple: true }) as number;
    if (freePages === 0) {
      db.close();
      return {
        file,
        bytesBefore,
        bytesAfter: bytesBefore,
        freePages,
        pageSize,
        compacted: false,
        ms: Date.now() - started,
      };
    }
    const need = compactRoomNeeded(pages - freePages, pageSize);
    const free = (opts.volumeFree ?? volumeFree)(dirname(file));
    if (free < need)
      throw new CompactRoomError(
        `${file}: compacting writes a copy of its ${pages - freePages} live pages beside it first, and needs ${need} bytes free on its volume; ${free} are`,
      );
    opts.onCopy?.((pages - freePages) * pageSize, freePages * pageSize);
    db.prepare('VACUUM INTO ?').run(copy);
  } catch (err) {
    if (db.open) db.close();
    rmSync(copy, { force: true });
    throw err;
  }
  db.close();
  try {
    checkCopy(copy);
    keepOwnership(file, copy);
    syncFile(copy);
    // Closed as the last connection, the store's WAL is gone; one still there (another reader
    // opened it meanwhile) would be replayed onto the copy, whose pages it does not describe.
    if (walFileBytes(file) > 0)
      throw new StoreInUseError(
        `${file} was opened by another process meanwhile: compact it again once it is not`,
      );
    rmSync(`${file}-shm`, { force: true });
    renameSync(copy, file);
  } catch (err) {
    rmSync(copy, { force: true });
    throw err;
  }
  syncFile(dirname(file));
  return {
    file,
    bytesBefore,
    bytesAfter: statSync(file).size + walFileBytes(file),
    freePages,
    pageSize,
    compacted: true,
    ms: Date.now() - started,
  };
}

/** The copy is whole (SQLite's own check of its pages) and in WAL mode, as the services open it. */
function checkCopy(copy: string) {
  const db = new BetterSqlite3(copy, { fileMustExist: true });
  try {
    const result = db.pragma('quick_check', { simple: true });
    if (result !== 'ok')
      throw new Error(`the compacted copy ${basename(copy)} failed SQLite's check: ${result}`);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

/**
 * The copy gets the store's mode and, when run as root, its owner: a store compacted by root
 * for a service running as its own user was left root's, and the service could not write it.
 */
function keepOwnership(file: string, copy: string) {
  const st = statSync(file);
  chmodSync(copy, st.mode & 0o7777);
  if (process.getuid?.() === 0) chownSync(copy, st.uid, st.gid);
}

/**
 * Run as root, the lock file made (for a store older than the lock) goes to the store's owner:
 * left root's, the service could not write it, and its lock held nothing (see lockStore).
 */
function lockToOwner(file: string) {
  if (process.getuid?.() !== 0) return;
  const st = statSync(file);
  chownSync(`${file}.lock`, st.uid, st.gid);
}

function syncFile(path: string) {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
