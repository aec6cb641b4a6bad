import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Change, sha256Hex } from '@outpost/core';
import type { Store } from '@outpost/store';
import { isNotFound } from './read-file.js';

/** A rollback the store cannot serve whole: nothing in the content directory was changed. */
export class RestoreRefusedError extends Error {
  override name = 'RestoreRefusedError';
}

/**
 * Reads every chunk the puts need and checks it against its address, before any file is
 * touched: a damaged chunk written into the content directory would have put bad bytes in the
 * source of truth, under an index entry vouching for the good ones, and a rollback that failed
 * halfway would have left the directory half rolled back.
 */
function checkChunks(store: Store, changes: readonly Change[]): void {
  const checked = new Set<string>();
  for (const change of changes) {
    if (change.op !== 'put') continue;
    for (const c of change.entry.chunks) {
      if (checked.has(c.hash)) continue;
      checked.add(c.hash);
      const data = store.chunks.get(c.hash);
      const what = !data ? 'missing from' : sha256Hex(data) !== c.hash ? 'damaged in' : null;
      if (what)
        throw new RestoreRefusedError(
          `chunk ${c.hash} of ${change.entry.path} is ${what} the master's store: nothing was changed; \`outpost verify\` on its --data says more`,
        );
    }
  }
}

/**
 * Makes the content directory match a set of changes taken from the store (a rollback):
 * each put is written from its stored chunks to a temp file beside it (ignored by the watcher),
 * given its old mtime and renamed into place; each delete is removed. The scan index learns
 * every file written, so neither the watcher's echo nor a restart reads them again.
 */
export async function restoreFiles(
  contentDir: string,
  store: Store,
  changes: readonly Change[],
): Promise<void> {
  checkChunks(store, changes);
  for (const change of changes) {
    if (change.op === 'delete') {
      await rm(join(contentDir, change.path), { force: true });
      store.scanIndex.delete(change.path);
      continue;
    }
    const { path, mtime, chunks, size, hash } = change.entry;
    const abs = join(contentDir, path);
    await mkdir(dirname(abs), { recursive: true });
    // A directory where the file must go (the tree had a folder of that name since) goes first.
    const there = await lstat(abs).catch((err) => (isNotFound(err) ? null : Promise.reject(err)));
    if (there?.isDirectory()) await rm(abs, { recursive: true, force: true });
    const temp = join(dirname(abs), `.outpost-restore-${randomBytes(6).toString('hex')}.tmp`);
    const file = await open(temp, 'wx');
    try {
      for (const c of chunks) {
        const data = store.chunks.get(c.hash);
        if (!data) throw new Error(`chunk ${c.hash} of ${path} is missing from the store`);
        await file.write(data);
      }
    } finally {
      await file.close();
    }
    await utimes(temp, new Date(mtime), new Date(mtime));
    await rename(temp, abs);
    const st = await lstat(abs);
    store.scanIndex.put({ path, size, mtimeMs: st.mtimeMs, ino: st.ino, hash, scannedAt: Date.now() });
  }
}
