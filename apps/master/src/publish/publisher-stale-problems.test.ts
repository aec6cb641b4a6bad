import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Publisher } from './publisher.js';

let dir: string;
let content: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-stale-problems-'));
  content = join(dir, 'content');
  mkdirSync(join(content, 'sub'), { recursive: true });
  store = openStore(join(dir, 'master.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function publisher() {
  const p = new Publisher({
    contentDir: content,
    store,
    log: pino({ level: 'silent' }),
    onPublished: () => {},
  });
  await p.reconcile();
  return p;
}

describe('refusals of paths that are gone', () => {
  it('go at the rewalk after the content directory is switched for another', async () => {
    writeFileSync(join(content, 'sub', 'a.txt'), 'a\n');
    execFileSync('mkfifo', [join(content, 'sub', 'pipe')]);
    writeFileSync(join(content, 'b.txt'), 'b\n');
    writeFileSync(join(content, 'B.txt'), 'B\n');
    mkdirSync(join(content, '_outpost'));
    writeFileSync(join(content, '_outpost', 'x'), 'x\n');
    const p = await publisher();
    // One of b.txt and B.txt is refused as the other's twin.
    expect(p.problems.size).toBe(3);
    expect([...p.problems.keys()]).toEqual(expect.arrayContaining(['_outpost/x', 'sub/pipe']));

    // mv content content.old; mv content.new content: as master.ts's followTo, a rewalk follows.
    renameSync(content, join(dir, 'content.old'));
    mkdirSync(content);
    writeFileSync(join(content, 'new.txt'), 'new\n');
    execFileSync('mkfifo', [join(content, 'new.pipe')]);
    await p.rewalk();
    expect([...store.versions.liveTree().keys()]).toEqual(['new.txt']);
    expect(Object.fromEntries(p.problems)).toEqual({ 'new.pipe': 'not a regular file: a named pipe' });
    await p.close();
  });

  it('go with the folder they were in', async () => {
    writeFileSync(join(content, 'sub', 'a.txt'), 'a\n');
    execFileSync('mkfifo', [join(content, 'sub', 'pipe')]);
    const p = await publisher();
    expect([...p.problems.keys()]).toEqual(['sub/pipe']);
    rmSync(join(content, 'sub'), { recursive: true });
    await p.submit(['sub']);
    expect(store.versions.liveTree().size).toBe(0);
    expect(p.problems.size).toBe(0);
    await p.close();
  });
});
