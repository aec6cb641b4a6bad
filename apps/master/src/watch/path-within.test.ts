import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWithin, realpathLoose } from './path-within.js';

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'outpost-within-')));
  mkdirSync(join(dir, 'site', 'docs'), { recursive: true });
  symlinkSync(join(dir, 'site'), join(dir, 'current'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('isWithin', () => {
  it('holds for the same directory and anything under it, made yet or not, through symlinks', () => {
    expect(isWithin(join(dir, 'site'), join(dir, 'site'))).toBe(true);
    expect(isWithin(join(dir, 'site', '.outpost'), join(dir, 'site'))).toBe(true);
    expect(isWithin(join(dir, 'current', 'data', 'deeper'), join(dir, 'site'))).toBe(true);
    expect(isWithin(join(dir, 'site', 'docs', '..', 'x'), join(dir, 'current'))).toBe(true);
  });

  it('does not for a sibling, a parent, or a name that merely starts the same', () => {
    expect(isWithin(join(dir, 'data'), join(dir, 'site'))).toBe(false);
    expect(isWithin(dir, join(dir, 'site'))).toBe(false);
    expect(isWithin(join(dir, 'site-data'), join(dir, 'site'))).toBe(false);
    expect(isWithin(join(dir, 'site', '..', 'data'), join(dir, 'site'))).toBe(false);
  });

  it('resolves what exists and keeps the rest', () => {
    expect(realpathLoose(join(dir, 'current', 'new', 'deeper'))).toBe(join(dir, 'site', 'new', 'deeper'));
  });
});
