import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreFault } from './store-fault.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-fault-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const err = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('StoreFault', () => {
  it('takes damage once: says it, and marks the store for renewal at the next start', () => {
    const file = join(dir, 'replica.sqlite');
    const fault = new StoreFault(file, pino({ level: 'silent' }));
    expect(fault.message).toBeNull();
    expect(fault.report(err('SQLITE_IOERR', 'disk I/O error'), 'a read')).toBe(false);
    expect(fault.message).toBeNull();
    expect(existsSync(`${file}.damage-found`)).toBe(false);

    expect(fault.report(err('SQLITE_CORRUPT', 'database disk image is malformed'), 'a read')).toBe(true);
    expect(fault.report(err('SQLITE_NOTADB', 'file is not a database'), 'the scrub')).toBe(true);
    // The first word stands.
    expect(fault.message).toBe(
      'the store is damaged (database disk image is malformed, found by a read): what lies on damaged pages answers 503; restart the replica to move it aside and sync a new one',
    );
    expect(readFileSync(`${file}.damage-found`, 'utf8')).toBe(
      'database disk image is malformed (found by a read while running)',
    );
  });
});
