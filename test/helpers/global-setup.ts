import type { TestProject } from 'vitest/node';
import { bundleCli } from '../../apps/cli/bundle.mjs';

/** Before the end-to-end tests (and each rerun in watch mode): the built CLI they start, fresh. */
export default async function setup(project: TestProject): Promise<void> {
  const build = async () => {
    const started = performance.now();
    const cli = await bundleCli();
    console.log(`bundled the CLI for the end-to-end tests in ${Math.round(performance.now() - started)} ms`);
    return cli;
  };
  // Test workers start after this and inherit it: services.ts then starts the bundle, as
  // users start the built CLI.
  process.env.OUTPOST_TEST_CLI = await build();
  project.onTestsRerun(async () => {
    await build();
  });
}
