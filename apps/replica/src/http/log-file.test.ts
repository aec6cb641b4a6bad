import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogFile } from './log-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-logfile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('LogFile', () => {
  it('appends in order, and close waits for what is queued', async () => {
    const path = join(dir, 'a.log');
    const f = new LogFile(path, () => {
      throw new Error('no error expected');
    });
    for (let i = 0; i < 1000; i++) f.append(`line ${i}\n`);
    await f.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines[0]).toBe('line 0');
    expect(lines[999]).toBe('line 999');
  });

  it('opens the path again after the file was moved away', async () => {
    const path = join(dir, 'a.log');
    const f = new LogFile(path, () => undefined);
    f.append('before\n');
    // A reopen waits for the write in flight: once it resolves, 'before' is in the first file.
    await f.reopen();
    renameSync(path, `${path}.1`);
    await f.reopen();
    f.append('after\n');
    await f.close();
    expect(readFileSync(`${path}.1`, 'utf8')).toBe('before\n');
    expect(readFileSync(path, 'utf8')).toBe('after\n');
  });

  it('drops what a full disk refuses, says how much, and writes again once it can', async () => {
    const path = join(dir, 'a.log');
    // The path leads to /dev/full (every write: ENOSPC), then to a file with room.
    symlinkSync('/dev/full', path);
    const dropped: Array<[string, number]> = [];
    let bothDropped!: () => void;
    const done = new Promise<void>((r) => {
      bothDropped = r;
    });
    const f = new LogFile(path, (err, bytes) => {
      dropped.push([(err as NodeJS.ErrnoException).code ?? '', bytes]);
      if (dropped.length === 2) bothDropped();
    });
    f.append('lost 1\n');
    f.append('lost 2\n');
    await done;
    expect(dropped).toEqual([
      ['ENOSPC', 7],
      ['ENOSPC', 7],
    ]);
    unlinkSync(path);
    f.reopen();
    f.append('kept\n');
    await f.close();
    expect(readFileSync(path, 'utf8')).toBe('kept\n');
  });
});
