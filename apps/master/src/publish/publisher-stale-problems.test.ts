import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const fx = publisherFixture('outpost-stale-problems-');
beforeEach(() => mkdirSync(join(fx.content, 'sub')));

describe('refusals of paths that are gone', () => {
  it('go at the rewalk after the content directory is switched for another', async () => {
    writeFileSync(join(fx.content, 'sub', 'a.txt'), 'a\n');
    execFileSync('mkfifo', [join(fx.content, 'sub', 'pipe')]);
    writeFileSync(join(fx.content, 'b.txt'), 'b\n');
    writeFileSync(join(fx.content, 'B.txt'), 'B\n');
    mkdirSync(join(fx.content, '_outpost'));
    writeFileSync(join(fx.content, '_outpost', 'x'), 'x\n');
    const p = (await fx.reconciled()).p;
    // One of b.txt and B.txt is refused as the other's twin.
    expect(p.problems.size).toBe(3);
    expect([...p.problems.keys()]).toEqual(expect.arrayContaining(['_outpost/x', 'sub/pipe']));

    // mv content content.old; mv content.new content: as master.ts's followTo, a rewalk follows.
    renameSync(fx.content, join(fx.dir, 'content.old'));
    mkdirSync(fx.content);
    writeFileSync(join(fx.content, 'new.txt'), 'new\n');
    execFileSync('mkfifo', [join(fx.content, 'new.pipe')]);
    await p.rewalk();
    expect([...fx.store.versions.liveTree().keys()]).toEqual(['new.txt']);
    expect(Object.fromEntries(p.problems)).toEqual({ 'new.pipe': 'not a regular file: a named pipe' });
    await p.close();
  });

  it('go with the folder they were in', async () => {
    writeFileSync(join(fx.content, 'sub', 'a.txt'), 'a\n');
    execFileSync('mkfifo', [join(fx.content, 'sub', 'pipe')]);
    const p = (await fx.reconciled()).p;
    expect([...p.problems.keys()]).toEqual(['sub/pipe']);
    rmSync(join(fx.content, 'sub'), { recursive: true });
    await p.submit(['sub']);
    expect(fx.store.versions.liveTree().size).toBe(0);
    expect(p.problems.size).toBe(0);
    await p.close();
  });
});
