import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RootFollower, type RootIdentity, resolveRoot } from './root-follower.js';

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'outpost-root-')));
  mkdirSync(join(dir, 'r1'));
  mkdirSync(join(dir, 'r2'));
  symlinkSync(join(dir, 'r1'), join(dir, 'current'));
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const point = (target: string) => {
  symlinkSync(target, join(dir, 'next'));
  renameSync(join(dir, 'next'), join(dir, 'current'));
};

/** A follower of `path` looking every 5 ms, and where it was told the directory went. */
function follow(path: string) {
  const moves: string[] = [];
  const f = new RootFollower({
    path,
    watched: resolveRoot(path)!,
    intervalMs: 5,
    onMoved: async (to: RootIdentity) => {
      moves.push(to.real);
    },
  });
  f.start();
  return { f, moves, look: () => vi.advanceTimersByTimeAsync(5) };
}

describe('RootFollower', () => {
  it('tells each switch of a link once, and nothing while it stays or leads nowhere', async () => {
    const { f, moves, look } = follow(join(dir, 'current'));
    await look();
    expect(moves).toEqual([]);
    point(join(dir, 'r2'));
    await look();
    expect(moves).toEqual([join(dir, 'r2')]);
    await look();
    expect(moves).toHaveLength(1);
    // Dangling: left to the publisher, which refuses to publish an empty tree for it.
    point(join(dir, 'missing'));
    await look();
    expect(moves).toHaveLength(1);
    point(join(dir, 'r1'));
    await look();
    expect(moves).toEqual([join(dir, 'r2'), join(dir, 'r1')]);
    f.stop();
  });

  it('tells when another directory is moved into the place of the one watched', async () => {
    const content = join(dir, 'content');
    mkdirSync(content);
    const { f, moves, look } = follow(content);
    // Files come and go inside it: the same directory.
    writeFileSync(join(content, 'a.txt'), 'a');
    await look();
    expect(moves).toEqual([]);
    // `mv content.new content`, as a deploy script does: the same path, another directory.
    renameSync(content, join(dir, 'content.old'));
    await look();
    expect(moves).toEqual([]);
    mkdirSync(join(dir, 'content.new'));
    renameSync(join(dir, 'content.new'), content);
    await look();
    expect(moves).toEqual([content]);
    f.stop();
  });

  it('names a directory by where it leads and its inode; a path that names none gives null', () => {
    const r1 = resolveRoot(join(dir, 'r1'));
    expect(r1?.real).toBe(join(dir, 'r1'));
    expect(resolveRoot(join(dir, 'current'))).toEqual(r1);
    expect(resolveRoot(join(dir, 'nothing'))).toBeNull();
    writeFileSync(join(dir, 'file'), 'x');
    expect(resolveRoot(join(dir, 'file'))).toBeNull();
  });
});
