import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildForTests } from './build-for-tests.js';
import { REPO_ROOT } from './services.js';

/** Before the end-to-end tests (and each rerun in watch mode): the built CLI they start, fresh. */
export default function setup(project: TestProject): void {
  const build = () => {
    const { files, ms } = buildForTests();
    console.log(`built ${files} source files for the end-to-end tests in ${Math.round(ms)} ms`);
  };
  build();
  project.onTestsRerun(build);
  // Test workers start after this and inherit it: services.ts then starts the build.
  process.env.OUTPOST_TEST_CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
}
