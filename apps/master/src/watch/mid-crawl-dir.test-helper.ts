import { mkdirSync } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';

/**
 * For tests: until the returned function is called, a directory `name` is made in `dir` right
 * after anything lists `dir` with fs/promises' readdir, as chokidar's crawl does before it
 * watches it; the worst moment for a script writing into the tree while a master starts.
 */
export function makeDirAfterListing(dir: string, name: string): () => void {
  const realReaddir = fsPromises.readdir;
  let made = false;
  const patched = async (path: unknown, options?: unknown) => {
    const entries = await (realReaddir as (p: unknown, o: unknown) => Promise<unknown>)(path, options);
    if (path === dir && !made) {
      made = true;
      mkdirSync(join(dir, name));
    }
    return entries;
  };
  fsPromises.readdir = patched as typeof realReaddir;
  // readdirp imports readdir by name: the patch reaches it through the builtin's live binding.
  syncBuiltinESMExports();
  return () => {
    fsPromises.readdir = realReaddir;
    syncBuiltinESMExports();
  };
}
