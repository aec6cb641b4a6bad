import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './store.js';
import { lockStore, StoreInUseError } from './store-lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Tries to take the lock from another process, as a second service would; its exit code: 0 taken, 3 busy. */
function takeFromAnotherProcess(file: string): number {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(sqlite)});
    const db = new Database(${JSON.stringify(`${file}.lock`)}, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    try { db.exec('BEGIN EXCLUSIVE'); process.exit(0); }
    catch (err) { process.exit(err.code === 'SQLITE_BUSY' ? 3 : 1); }`;
  return spawnSync(process.execPath, ['-e', script]).status ?? -1;
}

describe('lockStore', () => {
  it('keeps the store to one process until released, and names the other holder', () => {
    const file = join(dir, 'data', 'replica.sqlite');
    const lock = lockStore(file, 'replica');
    expect(existsSync(`${file}.lock`)).toBe(true);
    expect(takeFromAnotherProcess(file)).toBe(3);
    expect(() => lockStore(file, 'replica')).toThrow(StoreInUseError);
    expect(() => lockStore(file, 'replica')).toThrow(
      `${join(dir, 'data')} is in use by another outpost replica, which holds ${file}`,
    );
    // Reading the store beside it (outpost verify) is not held up.
    const reader = openStore(file);
    expect(reader.versions.current().version).toBe(0);
    reader.close();
    lock.release();
    lock.release();
    expect(takeFromAnotherProcess(file)).toBe(0);
    lockStore(file, 'replica').release();
  });

  it('is given up by a process that dies, however it dies', () => {
    const file = join(dir, 'master.sqlite');
    // A process that takes the lock and is killed with SIGKILL while holding it.
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const r = spawnSync(process.execPath, [
      '-e',
      `const Database = require(${JSON.stringify(sqlite)});
       const db = new Database(${JSON.stringify(`${file}.lock`)});
       db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN EXCLUSIVE');
       process.kill(process.pid, 'SIGKILL');`,
    ]);
    expect(r.signal).toBe('SIGKILL');
    lockStore(file, 'master').release();
  });

  // Root may write any file: the refusal shows only for another user, which only root can become.
  it.skipIf(process.getuid?.() !== 0)(
    'refuses a lock file this user cannot write, whose lock would hold nothing',
    () => {
      chmodSync(dir, 0o777);
      const file = join(dir, 'master.sqlite');
      // Left by root (a service or a compaction run as root): 0644, root's.
      lockStore(file, 'master').release();
      const module = join(import.meta.dirname, 'store-lock.ts');
      // lockStore in a process of user nobody: it must refuse, not 'take' a lock that holds nothing.
      const r = spawnSync(
        process.execPath,
        [
          // The workspace's packages from their sources, as the tests run them (CI builds no dist first).
          '--conditions=source',
          '--import',
          'tsx',
          '-e',
          `import(${JSON.stringify(module)}).then((m) => {
             try { m.lockStore(${JSON.stringify(file)}, 'master'); process.exit(0); }
             catch (err) { console.log(err.message); process.exit(3); }
           });`,
        ],
        { uid: 65534, gid: 65534, cwd: import.meta.dirname, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(3);
      expect(r.stdout).toContain(`${file}.lock is not writable by this user (EACCES; owned by root?)`);
    },
  );
});
