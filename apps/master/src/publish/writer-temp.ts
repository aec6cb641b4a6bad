import { basename } from 'node:path';

/**
 * Names the usual tools give the temp file they fill before renaming it over the real one:
 * rsync's `.NAME.XXXXXX`, GNU `sed -i`'s `sedXXXXXX`, Python's `tempfile` `tmpXXXXXXXX`. A
 * writer that pauses longer than --settle-ms (rsync deploying over a slow link, sed on a
 * large file) had its temp file published half-written, under that name, a version before
 * the real file came. Such names are not left out (`.env.sample` has rsync's shape): they
 * are published only once left alone for WRITER_TEMP_SETTLE_MS, by when the writer has
 * renamed a real temp file away.
 */
const WRITER_TEMP: RegExp[] = [/^\..+\.[A-Za-z0-9]{6}$/, /^sed[A-Za-z0-9]{6}$/, /^tmp[a-z0-9_]{8}$/];

/** How long a file named like a writer's temp file must be left alone before it is read. */
export const WRITER_TEMP_SETTLE_MS = 5000;

/** True when the last segment of `relPath` has the shape of a writer's temp file. */
export function looksLikeWriterTemp(relPath: string): boolean {
  const name = basename(relPath);
  return WRITER_TEMP.some((re) => re.test(name));
}

/** The settle time for `relPath`: `settleMs`, or longer for a name shaped like a writer's temp file. */
export function settleFor(relPath: string, settleMs: number): number {
  return looksLikeWriterTemp(relPath) ? Math.max(settleMs, WRITER_TEMP_SETTLE_MS) : settleMs;
}
