import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkBuffer, merkleRoot, sha256Hex, type TreeEntry } from '@outpost/core';
import { lockStore, openStore, prune } from '@outpost/store';
import { describe, expect, it } from 'vitest';
import { compactCommand } from './compact-command.js';
import { UsageError } from './errors.js';
import { storeCommandFixture } from './store-command.test-helper.js';

const { tempDir, run } = storeCommandFixture(compactCommand, 'outpost-compact-');

/** A store at `file` whose first version (4 MiB) was collected, its second kept. */
function collectedStore(file: string) {
  const store = openStore(file);
  const data = randomBytes(4 * 1024 * 1024);
  const chunks = chunkBuffer(data, 64 * 1024).map((c) => {
    const hash = sha256Hex(c);
    store.chunks.put(hash, c);
    return { hash, size: c.length };
  });
  const big: TreeEntry = { path: 'big.bin', size: data.length, hash: sha256Hex(data), mtime: 1, chunks };
  store.versions.commit({
    version: 1,
    root: merkleRoot([big]),
    createdAt: 1,
    files: 1,
    bytes: data.length,
    changes: [{ op: 'put', entry: big }],
  });
  store.versions.commit({
    version: 2,
    root: merkleRoot([]),
    createdAt: 2,
    files: 0,
    bytes: 0,
    changes: [{ op: 'delete', path: 'big.bin' }],
  });
  prune(store, { keepFrom: 2 });
  store.close();
}

describe('compactCommand', () => {
  it('says what each store gave back, and before a long copy, what it copies', () => {
    const data = tempDir();
    const file = join(data, 'replica.sqlite');
    collectedStore(file);
    const r = run(data, false);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^${file}: copying its [\\d.]+ KiB in use, without the [\\d.]+ MiB of free pages…\\n${file}: [\\d.]+ MiB → [\\d.]+ KiB, [\\d.]+ MiB given back \\([\\d.]+ s\\)\\n$`,
      ),
    );
    expect(statSync(file).size).toBeLessThan(1024 * 1024);
    // Again: nothing left to give back.
    expect(run(data, false).stdout).toMatch(/: nothing to give back \(no free pages\), [\d.]+ KiB\n$/);
  });

  it('refuses, exit 1, a store its service holds, and still compacts the other one', () => {
    const data = tempDir();
    collectedStore(join(data, 'master.sqlite'));
    collectedStore(join(data, 'replica.sqlite'));
    const lock = lockStore(join(data, 'master.sqlite'), 'master');
    try {
      const r = run(data, true);
      expect(r.code).toBe(1);
      const reports = JSON.parse(r.stdout);
      expect(reports[join(data, 'master.sqlite')]).toEqual({
        compacted: false,
        code: 'StoreInUseError',
        error: expect.stringContaining('held by a running outpost service: stop it first'),
      });
      expect(reports[join(data, 'replica.sqlite')]).toMatchObject({
        compacted: true,
        freePages: expect.any(Number),
      });
    } finally {
      lock.release();
    }
  });

  it('says a file that is no database in a line, exit 1', () => {
    const data = tempDir();
    const file = join(data, 'master.sqlite');
    writeFileSync(file, 'garbage\n'.repeat(1000));
    const r = run(data, false);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${file}: NOT COMPACTED: file is not a database (SQLITE_NOTADB)\n`);
  });

  it('says on stderr that a directory holds no store, exit 2; --data is needed', () => {
    const data = tempDir();
    expect(run(data, false)).toEqual({
      code: 2,
      stdout: '',
      stderr: `outpost: no store in ${data} (looked for master.sqlite, replica.sqlite)\n`,
    });
    expect(() => run(undefined, false)).toThrow(UsageError);
  });
});
