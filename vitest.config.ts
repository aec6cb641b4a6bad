import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition.
const resolve = { conditions: ['source', 'module', 'node', 'import', 'default'] };

export default defineConfig({
  test: {
    // One test file per core at once. Left to itself, vitest ran the files one at a time on
    // this two-core machine (6 min 38 s for the suite); two at a time took 4 min 40 s.
    maxWorkers: availableParallelism(),
    projects: [
      {
        resolve,
        // Vitest runs node tests in Vite's SSR environment, which has its own resolve options.
        ssr: { resolve },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
          // Some unit tests wait on real file-system events and threads; beside an end-to-end
          // file's processes on two busy cores, vitest's default 5 s was too short for them.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        resolve,
        ssr: { resolve },
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          // The tests start the built CLI: built here, fresh, before they run.
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: true,
        },
      },
    ],
  },
});
