import { relative, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { isIgnoredPath } from './ignore-rules.js';

/** Converts an absolute path under root into the tree's POSIX relative path. */
export function toRelative(root: string, abs: string): string {
  const rel = relative(root, abs);
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** Watches `root` and reports each changed relative path; resolves once the initial crawl is done. */
export async function watchTree(
  root: string,
  onPath: (relPath: string) => void,
  onError: (err: unknown) => void,
): Promise<FSWatcher> {
  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    // Our own quiet window coalesces events; chokidar's atomic mode would delay deletes by 100 ms.
    atomic: false,
    ignored: (abs: string) => {
      const rel = toRelative(root, abs);
      return rel !== '' && isIgnoredPath(rel);
    },
  });
  for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) {
    watcher.on(event, (abs: string) => {
      const rel = toRelative(root, abs);
      if (rel !== '' && !rel.startsWith('..')) onPath(rel);
    });
  }
  watcher.on('error', onError);
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return watcher;
}
