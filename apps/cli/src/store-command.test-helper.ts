import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach } from 'vitest';

/** A command over the stores of a data directory (verify, compact), as main.ts calls it. */
type StoreCommand = (
  data: string | undefined,
  json: boolean,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
) => number;

/** For tests of a store command: temp data directories removed after each test, and a runner that gathers its output. */
export function storeCommandFixture(command: StoreCommand, prefix: string) {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    tempDir(): string {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    /** Runs the command, gathering what it writes to stdout and stderr. */
    run(data: string | undefined, json: boolean) {
      const out = new PassThrough();
      const err = new PassThrough();
      let stdout = '';
      let stderr = '';
      out.on('data', (d) => {
        stdout += d;
      });
      err.on('data', (d) => {
        stderr += d;
      });
      const code = command(data, json, out, err);
      return { code, stdout, stderr };
    },
  };
}
