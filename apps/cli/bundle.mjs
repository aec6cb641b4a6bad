// Bundles the CLI and everything it imports into a few files under dist/bundle/: a process
// then starts without resolving and reading some 1,500 module files. A master over a small
// tree was listening in 0.44-0.62 s instead of 0.78-0.95 s (docs/benchmarks.md, fifteenth round).
// better-sqlite3 stays outside: it loads a native addon.
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Writes dist/bundle/outpost.js (and the chunks it loads on demand); resolves to its path. */
export async function bundleCli() {
  const outdir = here('./dist/bundle/');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { outpost: here('./src/outpost.ts') },
    bundle: true,
    // Each command loads only what it runs: `status` and `help` never parse the services.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    // The workspace packages' TypeScript sources, as tests and `pnpm outpost` use them.
    conditions: ['source'],
    external: ['better-sqlite3'],
    outdir,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    // Names in stack traces and logs stay those of the sources.
    keepNames: true,
    // CommonJS dependencies (fastify's, pino) call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as __outpostRequire } from 'node:module'; const require = __outpostRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  // The store reads its migrations beside its own code: in the bundle, beside the chunks.
  cpSync(here('../../packages/store/src/migrations'), `${outdir}migrations`, { recursive: true });
  return `${outdir}outpost.js`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli();
