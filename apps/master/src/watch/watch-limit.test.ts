import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { WatchLimit } from './watch-limit.js';

/** The error chokidar passes on when fs.watch meets inotify's limit. */
const limitError = (path: string) =>
  Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`), {
    code: 'ENOSPC',
    syscall: 'watch',
    path,
  });

describe('WatchLimit', () => {
  it('counts the directories left unwatched, says it once, and names the way out', () => {
    let firsts = 0;
    const limit = new WatchLimit({ log: pino({ level: 'silent' }), onFirst: () => firsts++ });
    expect(limit.message(600_000)).toBeNull();
    expect(limit.take(limitError('/srv/content/a'))).toBe(true);
    expect(limit.take(limitError('/srv/content/b'))).toBe(true);
    // The same directory twice (chokidar retries) counts once.
    expect(limit.take(limitError('/srv/content/b'))).toBe(true);
    expect(limit.count).toBe(2);
    expect(limit.refused('/srv/content/b')).toBe(true);
    expect(limit.refused('/srv/content/c')).toBe(false);
    expect(firsts).toBe(1);
    expect(limit.message(30_000)).toMatch(
      /^2 directories are not watched: the system's limit on watches was reached \(fs\.inotify\.max_user_watches( = \d+)?\)\. Their changes are found by a rewalk every 30 s instead of at once; raise the limit \(sysctl\) and restart the master$/,
    );
    limit.clear();
    expect(limit.message(30_000)).toBeNull();
  });

  it('leaves every other watcher error to be logged as one', () => {
    const limit = new WatchLimit({ log: pino({ level: 'silent' }), onFirst: () => undefined });
    expect(limit.take(Object.assign(new Error('EACCES'), { code: 'EACCES' }))).toBe(false);
    expect(
      limit.take(Object.assign(new Error('no space left on device'), { code: 'ENOSPC', syscall: 'write' })),
    ).toBe(false);
    expect(limit.take(undefined)).toBe(false);
  });
});
