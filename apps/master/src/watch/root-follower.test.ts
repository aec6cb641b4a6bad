import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RootFollower, resolveRoot } from './root-follower.js';

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'outpost-root-')));
  mkdirSync(join(dir, 'r1'));
  mkdirSync(join(dir, 'r2'));
  symlinkSync(join(dir, 'r1'), join(dir, 'current'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const point = (target: string) => {
  symlinkSync(target, join(dir, 'next'));
  renameSync(join(dir, 'next'), join(dir, 'current'));
};

describe('RootFollower', () => {
  it('tells each switch of the link once, and nothing while it stays or leads nowhere', async () => {
    const moves: string[] = [];
    const f = new RootFollower({
      path: join(dir, 'current'),
      watched: resolveRoot(join(dir, 'current'))!,
      intervalMs: 5,
      onMoved: async (to) => {
        moves.push(to);
      },
    });
    vi.useFakeTimers();
    try {
      f.start();
      await vi.advanceTimersByTimeAsync(5);
      expect(moves).toEqual([]);
      point(join(dir, 'r2'));
      await vi.advanceTimersByTimeAsync(5);
      expect(moves).toEqual([join(dir, 'r2')]);
      await vi.advanceTimersByTimeAsync(5);
      expect(moves).toHaveLength(1);
      // Dangling: left to the publisher, which refuses to publish an empty tree for it.
      point(join(dir, 'missing'));
      await vi.advanceTimersByTimeAsync(5);
      expect(moves).toHaveLength(1);
      point(join(dir, 'r1'));
      await vi.advanceTimersByTimeAsync(5);
      expect(moves).toEqual([join(dir, 'r2'), join(dir, 'r1')]);
    } finally {
      vi.useRealTimers();
    }
    f.stop();
  });

  it('resolves a plain directory to itself, and a path that leads nowhere to null', () => {
    expect(resolveRoot(join(dir, 'r1'))).toBe(join(dir, 'r1'));
    expect(resolveRoot(join(dir, 'current'))).toBe(join(dir, 'r1'));
    expect(resolveRoot(join(dir, 'nothing'))).toBeNull();
  });
});
