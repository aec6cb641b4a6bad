import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { merkleRoot, sha256Hex } from '@outpost/core';
import { openStore } from '@outpost/store';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { storeCommandFixture } from './store-command.test-helper.js';
import { verifyCommand } from './verify-command.js';

const { tempDir, run } = storeCommandFixture(verifyCommand, 'outpost-verify-');

describe('verifyCommand', () => {
  it('reports a store SQLite cannot read as damaged, exit 1, in a line (not a stack trace)', () => {
    const data = tempDir();
    const file = join(data, 'master.sqlite');
    writeFileSync(file, 'garbage\n');
    const r = run(data, false);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `${file}: DAMAGED: SQLite cannot read it (file is not a database, SQLITE_NOTADB)\n`,
    );
    expect(r.stderr).toBe('');
  });

  it('gives valid JSON for it with --json', () => {
    const data = tempDir();
    const file = join(data, 'replica.sqlite');
    writeFileSync(file, 'garbage\n'.repeat(1000));
    const r = run(data, true);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      [file]: { readable: false, code: 'SQLITE_NOTADB', error: 'file is not a database' },
    });
  });

  it('still checks the other store of the directory, and says a sound one is OK', () => {
    const data = tempDir();
    openStore(join(data, 'master.sqlite')).close();
    writeFileSync(join(data, 'replica.sqlite'), 'garbage\n');
    const r = run(data, true);
    expect(r.code).toBe(1);
    const reports = JSON.parse(r.stdout);
    expect(reports[join(data, 'master.sqlite')]).toMatchObject({ chunks: 0, badChunks: [] });
    expect(reports[join(data, 'replica.sqlite')]).toMatchObject({ readable: false });
    const clean = tempDir();
    openStore(join(clean, 'master.sqlite')).close();
    expect(run(clean, false)).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/master\.sqlite: OK\n/),
    });
  });

  it("says a replica's damaged br/gzip copy, which it would make again, and exits 1", () => {
    const data = tempDir();
    const store = openStore(join(data, 'replica.sqlite'));
    store.encodings.put('a'.repeat(64), 'gzip', Buffer.from('a good copy'));
    store.encodings.put('b'.repeat(64), 'br', Buffer.from('a copy to be damaged'));
    store.encodings.put('c'.repeat(64), 'br', null);
    store.db
      .prepare("UPDATE encodings SET data = ? WHERE coding = 'br' AND data IS NOT NULL")
      .run(Buffer.from('a copy to be damagee'));
    store.close();
    const r = run(data, false);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  br/gzip   2 copies, 1 damaged\n');
    expect(r.stdout).toContain(
      `  damaged br copy of content ${'b'.repeat(64)}: its bytes do not hash to the hash recorded with them (made again when next asked for)\n`,
    );
  });

  it('says on stderr, not in the report on stdout, that a directory holds no store', () => {
    const data = tempDir();
    const r = run(data, true);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`outpost: no store in ${data} (looked for master.sqlite, replica.sqlite)\n`);
  });

  it('is a usage error (exit 2, one line) without --data', () => {
    expect(() => run(undefined, false)).toThrow(UsageError);
    expect(() => run('', false)).toThrow('verify needs --data DIR (or OUTPOST_DATA)');
  });
});

describe("verifyCommand and SQLite's own check", () => {
  it('says damage in an index the hashes cannot see, exit 1', () => {
    const data = tempDir();
    const file = join(data, 'replica.sqlite');
    const store = openStore(file);
    const body = Buffer.from('a file\n');
    const hash = sha256Hex(body);
    store.chunks.put(hash, body);
    const entry = { path: 'a.txt', size: body.length, hash, mtime: 1, chunks: [{ hash, size: body.length }] };
    store.versions.commit({
      version: 1,
      root: merkleRoot([entry]),
      createdAt: 1,
      files: 1,
      bytes: body.length,
      changes: [{ op: 'put', entry }],
    });
    const page = store.db
      .prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'content_chunks_chunk'")
      .pluck()
      .get() as number;
    const pageSize = store.db.pragma('page_size', { simple: true }) as number;
    store.close();
    // The index's page overwritten past its header: its cells point nowhere.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize - 100, 0xff), 0, pageSize - 100, (page - 1) * pageSize + 100);
    closeSync(fd);
    const r = run(data, false);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${file}: DAMAGED`);
    expect(r.stdout).toMatch(/ {2}sqlite {4}\d+ problems in its pages or indexes\n/);
  });
});
