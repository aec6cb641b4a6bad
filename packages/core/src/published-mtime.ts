/** What the mtime of an entry is compared on: its content and its mtime (ms). */
export interface Dated {
  hash: string;
  mtime: number;
}

/** Whole seconds, as an HTTP date (Last-Modified, If-Modified-Since) tells a time. */
const second = (ms: number) => Math.floor(ms / 1000);

/**
 * The mtime to publish for new content at a path (readers get it as Last-Modified): the file's
 * own, unless that is not a later second than the mtime of the other content the path held
 * before. A rollback puts old files back with their old mtimes, as do `cp -p`, `rsync -a`,
 * `tar x` and builds with a fixed SOURCE_DATE_EPOCH: published as they are, a client that
 * revalidates by date (wget -N, apt) is told 304 and keeps the content it had. Such content
 * is dated when it is published instead (`now`), and never earlier than the second after
 * the one before.
 */
export function publishedMtime(next: Dated, before: Dated | undefined, now: number): number {
  if (!before || before.hash === next.hash || second(next.mtime) > second(before.mtime)) return next.mtime;
  return Math.max(now, (second(before.mtime) + 1) * 1000);
}
