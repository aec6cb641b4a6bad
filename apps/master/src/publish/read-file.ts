import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { type ChunkRef, createSha256, cutChunks, sha256Hex, type TreeEntry, treeEntry } from '@outpost/core';
import { settleFor } from './writer-temp.js';

/** Where chunks go as a file is read (the store, or a buffer of writes in front of it). */
export interface ChunkSink {
  put(hash: string, data: Buffer): void;
  /** Resolves when the sink can take more; a large file waits on it between reads. */
  room?(): Promise<void>;
  /** True when room() would wait. */
  crowded?: boolean;
}

/** Files up to this size are read in one call rather than streamed; larger ones, this much per read. */
const WHOLE_READ_BYTES = 1024 * 1024;

/**
 * Files up to this size are read with blocking calls: open, stat, read, close and lstat of a
 * cached small file take a few microseconds each, while five trips through the thread pool
 * cost more than reading and hashing it (most files of a tree are small; a first publish of
 * 10,000 took a quarter less CPU). A read from a cold disk blocks the loop for one small read;
 * the caller gives the loop a turn every few milliseconds (see LoopSlicer).
 */
const SYNC_READ_BYTES = 64 * 1024;

/**
 * O_NOFOLLOW: a file swapped for a symlink between lstat and open is refused, not followed.
 * O_NONBLOCK: a file swapped for a named pipe there is opened at once (and refused, as no
 * regular file), where a blocking open waits for a writer that may never come, holding the
 * publisher (and a thread) for good. It changes nothing for a regular file.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** An mtime further ahead of our clock than this comes from another clock, not from a write just now. */
const FUTURE_SKEW_MS = 2000;

/** What reading one file gave. */
export type ReadResult =
  | { kind: 'file'; entry: TreeEntry; ino: number; nlink: number; mtimeMs: number; startedAt: number }
  | { kind: 'gone' }
  | { kind: 'unstable'; reason: string; retryInMs?: number };

/**
 * Reads a regular file once, chunking and storing its bytes as it goes, and reports it only
 * if it had been left alone for `settleMs` (longer for a name shaped like a writer's temp
 * file: see settleFor) and its size, mtime and inode did not move while
 * it was read: a file caught half-written is reported unstable, to be tried again later,
 * never published. `lstatted` is the path's lstat when the caller has just made one; a large
 * file's read ends early, as unstable, once `stopped` says so. `paced`, when given, is awaited
 * before each read of a large file (the large-file lane's test hook, see PublisherOptions).
 */
export async function readFileIntoStore(
  abs: string,
  relPath: string,
  chunks: ChunkSink,
  settleMs = 0,
  lstatted?: Stats,
  stopped?: () => boolean,
  paced?: () => Promise<void>,
): Promise<ReadResult> {
  const startedAt = Date.now();
  const before = lstatted ?? (await lstatOrNull(abs));
  if (!before?.isFile()) return { kind: 'gone' };
  // A file written moments ago may be mid-write, between two writes: look again once it has
  // been left alone for settleMs. Unless its ctime moved after its last write: a rename (the
  // way careful writers publish a finished file) bumps ctime but not mtime, so such a file
  // is done. Not an empty one: a writer that sets the mode or owner of the file it has just
  // made (sed -i, install) moves its ctime past its mtime before it writes a byte. An mtime far
  // in the future (a skewed clock) cannot be judged and is taken as settled.
  // Sub-millisecond clock: mtimes are finer than Date.now(), and a file written in the same
  // millisecond must not look older than it is.
  const age = performance.timeOrigin + performance.now() - before.mtimeMs;
  const movedIntoPlace = before.ctimeMs > before.mtimeMs && before.size > 0;
  const settle = settleFor(relPath, settleMs);
  if (age > -FUTURE_SKEW_MS && age < settle && !movedIntoPlace) {
    return {
      kind: 'unstable',
      reason: 'modified moments ago',
      retryInMs: Math.ceil(Math.max(0, settle - age)) + 1,
    };
  }

  const whole = createSha256();
  let oneHash: string | undefined;
  const refs: ChunkRef[] = [];
  let bytes = 0;
  const keep = (chunk: Buffer) => {
    const hash = sha256Hex(chunk);
    chunks.put(hash, chunk);
    refs.push({ hash, size: chunk.length });
  };
  const keepWhole = (body: Buffer) => {
    // Views of the buffer, not copies: it is read into fresh and never reused.
    const pieces = cutChunks(body, true).chunks;
    if (pieces.length === 1) {
      // One chunk is the whole file: one hash serves as both.
      oneHash = sha256Hex(body);
      chunks.put(oneHash, body);
      refs.push({ hash: oneHash, size: body.length });
    } else {
      whole.update(body);
      for (const chunk of pieces) keep(chunk);
    }
    bytes = body.length;
  };
  const small = before.size <= SYNC_READ_BYTES;
  try {
    if (small) {
      const body = readSmallSync(abs, before.ino, before.size);
      if (!body) return { kind: 'unstable', reason: 'replaced while opening' };
      keepWhole(body);
    } else {
      const handle = await open(abs, OPEN_FLAGS);
      try {
        const opened = await handle.stat();
        if (opened.ino !== before.ino || !opened.isFile())
          return { kind: 'unstable', reason: 'replaced while opening' };
        if (before.size <= WHOLE_READ_BYTES) {
          // One byte more than expected, to notice a file that grew.
          const buf = Buffer.allocUnsafe(before.size + 1);
          let got = 0;
          for (;;) {
            const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
            if (bytesRead === 0) break;
            got += bytesRead;
            if (got === buf.length) break;
          }
          keepWhole(buf.subarray(0, got));
        } else {
          // Each read goes into a fresh buffer behind the uncertain tail of the last one, and the
          // chunks are views of it: only that tail (under the largest chunk) is copied.
          let tail: Buffer = Buffer.alloc(0);
          for (;;) {
            if (paced) {
              await paced();
              if (stopped?.()) return { kind: 'unstable', reason: 'stopped' };
            }
            const buf = Buffer.allocUnsafe(tail.length + WHOLE_READ_BYTES);
            tail.copy(buf);
            const { bytesRead } = await handle.read(buf, tail.length, WHOLE_READ_BYTES, bytes);
            const data = buf.subarray(0, tail.length + bytesRead);
            whole.update(data.subarray(tail.length));
            bytes += bytesRead;
            const { chunks: cut, rest } = cutChunks(data, bytesRead === 0);
            for (const chunk of cut) keep(chunk);
            tail = data.subarray(rest);
            if (bytesRead === 0) break;
            // A service stopping does not wait for the rest of a large file (minutes, for
            // tens of GiB): it is read again at the next start.
            if (stopped?.()) return { kind: 'unstable', reason: 'stopped' };
            if (chunks.crowded) await chunks.room?.();
          }
        }
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ELOOP') return { kind: 'gone' };
    throw err;
  }

  const after = small ? lstatSyncOrNull(abs) : await lstatOrNull(abs);
  if (!after?.isFile()) return { kind: 'gone' };
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ino !== before.ino) {
    return { kind: 'unstable', reason: 'changed while it was read' };
  }
  if (bytes !== before.size) return { kind: 'unstable', reason: 'size differs from bytes read' };
  return {
    kind: 'file',
    entry: treeEntry(relPath, bytes, oneHash ?? whole.digest('hex'), entryMtime(before.mtimeMs), refs),
    ino: before.ino,
    nlink: before.nlink,
    mtimeMs: before.mtimeMs,
    startedAt,
  };
}

/**
 * The mtime an entry publishes: whole milliseconds, and none before 1970. A file dated
 * earlier (`touch -d 1960-01-01`, an old archive unpacked) had been published with a negative
 * mtime, which every replica's schema refuses, so replication stalled on it. The scan index
 * keeps the real mtime: only what is published is clamped.
 */
export function entryMtime(mtimeMs: number): number {
  return Math.max(0, Math.floor(mtimeMs));
}

/**
 * A small file's bytes, read with blocking calls (as the async path: OPEN_FLAGS, the inode
 * checked, one byte more asked for than expected to notice growth); null when the path now
 * names another file.
 */
function readSmallSync(abs: string, ino: number, size: number): Buffer | null {
  const fd = openSync(abs, OPEN_FLAGS);
  try {
    const opened = fstatSync(fd);
    // Not a regular file: a pipe made in its place may have been given its inode number.
    if (opened.ino !== ino || !opened.isFile()) return null;
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function lstatSyncOrNull(abs: string) {
  try {
    return lstatSync(abs);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** lstat, or null when the path is not there (any more). */
export async function lstatOrNull(abs: string) {
  try {
    return await lstat(abs);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** True for the errors that mean "the path is not there (any more)". */
export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
