import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/services.js';

// Node 22.1 and later keep compiled code between runs; Node 20 has no such cache.
const nodeKeepsCompiledCode =
  typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe.runIf(nodeKeepsCompiledCode && process.env.OUTPOST_TEST_CLI)('the built CLI', () => {
  it("keeps the code it compiled in the user's cache directory, and nowhere else", async () => {
    const cache = mkdtempSync(join(tmpdir(), 'outpost-cache-'));
    try {
      const run = await runCli(['help'], { XDG_CACHE_HOME: cache });
      expect(run.code).toBe(0);
      expect(readdirSync(cache)).toEqual(['outpost']);
      const dir = join(cache, 'outpost', 'node-compile-cache');
      // One folder for this Node's version, holding a file per module compiled.
      const [versionDir, ...others] = readdirSync(dir);
      expect(others).toEqual([]);
      expect(readdirSync(join(dir, versionDir!)).length).toBeGreaterThan(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
