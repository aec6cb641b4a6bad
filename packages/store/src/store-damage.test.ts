import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './store.js';
import { isStoreDamage, markStoreDamaged, openRenewingDamaged } from './store-damage.js';
import { lockStore } from './store-lock.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-damage-'));
  file = join(dir, 'replica.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const damage = () => Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });

describe('isStoreDamage', () => {
  it("is true for SQLite's corruption codes and a file that is no database, only", () => {
    expect(isStoreDamage(damage())).toBe(true);
    expect(isStoreDamage(Object.assign(new Error(''), { code: 'SQLITE_CORRUPT_INDEX' }))).toBe(true);
    expect(isStoreDamage(Object.assign(new Error(''), { code: 'SQLITE_NOTADB' }))).toBe(true);
    expect(isStoreDamage(Object.assign(new Error(''), { code: 'SQLITE_FULL' }))).toBe(false);
    expect(isStoreDamage(Object.assign(new Error(''), { code: 'SQLITE_IOERR' }))).toBe(false);
    expect(isStoreDamage(undefined)).toBe(false);
  });
});

describe('openRenewingDamaged', () => {
  it('moves a file that is not a database aside, with its WAL, and opens a new store', () => {
    writeFileSync(file, Buffer.alloc(40_000, 7));
    writeFileSync(`${file}-wal`, 'the damaged one’s WAL');
    // An older copy's WAL must not stay beside the new copy.
    writeFileSync(`${file}.damaged-wal`, 'older');
    const told: { message: string; movedTo: string }[] = [];
    const { store, value } = openRenewingDamaged(
      file,
      'replica',
      (s) => s.versions.current().version,
      (err, movedTo) => told.push({ message: err.message, movedTo }),
    );
    expect(told).toEqual([{ message: 'file is not a database', movedTo: `${file}.damaged` }]);
    expect(value).toBe(0);
    expect(readFileSync(`${file}.damaged`)).toEqual(Buffer.alloc(40_000, 7));
    // (SQLite drops a WAL it cannot read as it gives up the file: what is left is the damaged one's, if any.)
    const wal = existsSync(`${file}.damaged-wal`) ? readFileSync(`${file}.damaged-wal`, 'utf8') : null;
    expect(wal).not.toBe('older');
    store.chunks.put('a'.repeat(64), Buffer.from('works'));
    store.close();
    store.lock.release();
  });

  it('renews a store whose damage shows only as it is read', () => {
    openStore(file).close();
    let reads = 0;
    const { store, value } = openRenewingDamaged(
      file,
      'replica',
      () => {
        reads++;
        if (reads === 1) throw damage();
        return 'fresh';
      },
      () => undefined,
    );
    expect(value).toBe('fresh');
    expect(existsSync(`${file}.damaged`)).toBe(true);
    store.close();
    store.lock.release();
  });

  it('throws any other error, the store left where it is and the lock given back', () => {
    openStore(file).close();
    expect(() =>
      openRenewingDamaged(
        file,
        'replica',
        () => {
          throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        },
        () => undefined,
      ),
    ).toThrow('disk I/O error');
    expect(existsSync(`${file}.damaged`)).toBe(false);
    lockStore(file, 'replica').release();
  });

  it('renews, at the next start, a store marked damaged while running, once', () => {
    const first = openStore(file);
    first.chunks.put('b'.repeat(64), Buffer.from('held'));
    first.close();
    markStoreDamaged(file, 'database disk image is malformed (found by a read while running)');
    const told: string[] = [];
    const open = () =>
      openRenewingDamaged(
        file,
        'replica',
        (s) => s.chunks.isEmpty(),
        (e) => told.push(e.message),
      );
    const renewed = open();
    expect(renewed.value).toBe(true);
    expect(told).toEqual(['database disk image is malformed (found by a read while running)']);
    renewed.store.close();
    renewed.store.lock.release();
    // The mark went with the store it was about.
    const again = open();
    expect(told).toHaveLength(1);
    again.store.close();
    again.store.lock.release();
  });
});
