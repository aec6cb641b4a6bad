import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveLink } from './resolve-link.js';

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-links-'));
  root = join(dir, 'content');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub', 'file.txt'), 'x');
  writeFileSync(join(dir, 'outside.txt'), 'secret');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const link = (target: string, name: string) => {
  symlinkSync(target, join(root, name));
  return resolveLink(root, join(root, name));
};

describe('resolveLink', () => {
  it('follows a relative, absolute or chained link to a file of the tree', () => {
    expect(link('sub/file.txt', 'rel')).toMatchObject({ kind: 'file', rel: 'sub/file.txt' });
    expect(link(join(root, 'sub', 'file.txt'), 'abs')).toMatchObject({ kind: 'file', rel: 'sub/file.txt' });
    expect(link('rel', 'chain')).toMatchObject({ kind: 'file', rel: 'sub/file.txt' });
    symlinkSync('..', join(root, 'sub', 'up'));
    expect(link('sub/up/sub/file.txt', 'through')).toMatchObject({ kind: 'file', rel: 'sub/file.txt' });
  });

  it('resolves against the real directory when the content directory is itself a link', () => {
    symlinkSync(root, join(dir, 'current'));
    symlinkSync('sub/file.txt', join(root, 'rel'));
    expect(resolveLink(join(dir, 'current'), join(dir, 'current', 'rel'))).toMatchObject({
      kind: 'file',
      rel: 'sub/file.txt',
    });
  });

  it('refuses what leads out of the tree, however it gets there', () => {
    const out = { kind: 'refused', problem: 'symbolic link leads out of the content directory' };
    expect(link(join(dir, 'outside.txt'), 'abs')).toEqual(out);
    expect(link('../outside.txt', 'dotdot')).toEqual(out);
    expect(link('/etc/passwd', 'etc')).toEqual(out);
    symlinkSync(dir, join(root, 'sub', 'parent'));
    expect(link('sub/parent/outside.txt', 'via-dir')).toEqual(out);
    // The content directory itself is no file of it.
    expect(link('.', 'self')).toEqual({
      kind: 'refused',
      problem: 'symbolic link to a directory: not followed',
    });
  });

  it('refuses directories, loops, special files and paths that are not published', () => {
    expect(link('sub', 'dir')).toEqual({
      kind: 'refused',
      problem: 'symbolic link to a directory: not followed',
    });
    expect(link('loop', 'loop')).toEqual({ kind: 'refused', problem: 'symbolic link loops' });
    execFileSync('mkfifo', [join(root, 'pipe')]);
    expect(link('pipe', 'to-pipe')).toEqual({
      kind: 'refused',
      problem: 'symbolic link to something not a file: a named pipe',
    });
    writeFileSync(join(root, 'sub', '.file.txt.swp'), 'editor');
    expect(link('sub/.file.txt.swp', 'swap')).toEqual({
      kind: 'refused',
      problem: 'symbolic link leads to "sub/.file.txt.swp", which is not published',
    });
  });

  it('says which path of the tree a dangling link waits for', () => {
    expect(link('sub/later.txt', 'later')).toEqual({
      kind: 'refused',
      problem: 'symbolic link leads nowhere',
      wants: 'sub/later.txt',
    });
    expect(link('../nowhere', 'out')).toEqual({ kind: 'refused', problem: 'symbolic link leads nowhere' });
  });
});
