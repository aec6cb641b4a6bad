import type { Database, Transaction } from 'better-sqlite3';

type Fn = (...args: never[]) => unknown;

/**
 * `fn` as a transaction that takes the write lock as it begins (BEGIN IMMEDIATE). The master
 * writes its store from several connections at once (the publisher's, and the writer threads
 * of a batch and of the large-file lane). A transaction begun deferred that reads before it
 * writes (a commit looks at the current version first) gets no wait from busy_timeout when
 * another connection holds the write lock, or has committed since its first read: SQLite fails
 * it at once with SQLITE_BUSY ("database is locked"), and small edits published beside a
 * large file failed their batches (write-lock.test.ts shows each such path). Begun immediate, it waits for the lock
 * like any first write, and reads what the last writer committed. Every transaction that
 * writes goes this way; read-only ones (Store.read) stay deferred.
 */
export function writeTransaction<F extends Fn>(db: Database, fn: F): Transaction<F>['immediate'] {
  return db.transaction(fn).immediate;
}
