import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// One file of the tree fails to read (EACCES cannot be staged as root, so the read is made to
// fail the way it would): it must be reported and skipped while the rest is published.
vi.mock('./read-file.js', async (original) => {
  const real = await original<typeof import('./read-file.js')>();
  return {
    ...real,
    readFileIntoStore: async (abs: string, ...rest: [string, never, number]) => {
      if (abs.endsWith('locked.txt')) throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
      return real.readFileIntoStore(abs, ...rest);
    },
  };
});

const { Publisher } = await import('./publisher.js');

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-publisher-'));
  mkdirSync(join(dir, 'content'));
  store = openStore(join(dir, 'master.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Publisher', () => {
  it('reports an unreadable file and publishes the rest', async () => {
    writeFileSync(join(dir, 'content', 'ok.txt'), 'fine\n');
    writeFileSync(join(dir, 'content', 'locked.txt'), 'secret\n');
    const published: number[] = [];
    const p = new Publisher({
      contentDir: join(dir, 'content'),
      store,
      log: pino({ level: 'silent' }),
      onPublished: (v) => published.push(v.version),
    });
    await p.reconcile();
    expect(published).toEqual([1]);
    expect([...store.versions.liveTree().keys()]).toEqual(['ok.txt']);
    expect(p.problems.get('locked.txt')).toBe('unreadable: EACCES');
    await p.close();
  });

  it('keeps what the tree holds for a file that becomes unreadable, and says why', async () => {
    writeFileSync(join(dir, 'content', 'a.txt'), 'a\n');
    const p = new Publisher({
      contentDir: join(dir, 'content'),
      store,
      log: pino({ level: 'silent' }),
      onPublished: () => undefined,
    });
    await p.reconcile();
    // A file that vanishes mid-way is a delete; one that cannot be read is left as it was.
    writeFileSync(join(dir, 'content', 'locked.txt'), 'x\n');
    rmSync(join(dir, 'content', 'a.txt'));
    await p.submit(['a.txt', 'locked.txt']);
    expect([...store.versions.liveTree().keys()]).toEqual([]);
    expect(p.problems.has('locked.txt')).toBe(true);
    await p.close();
  });
});
