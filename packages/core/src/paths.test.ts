import { describe, expect, it } from 'vitest';
import {
  contentPathProblem,
  isContentPath,
  MAX_PATH_BYTES,
  MAX_SEGMENT_BYTES,
  RESERVED_TOP,
} from './paths.js';

describe('content paths', () => {
  it('has the documented limits', () => {
    expect(MAX_PATH_BYTES).toBe(4096);
    expect(MAX_SEGMENT_BYTES).toBe(255);
    expect(RESERVED_TOP).toBe('_outpost');
  });

  it.each([
    'a',
    'index.html',
    'a/b/c.txt',
    'docs/policies/2024/holiday-policy.pdf',
    '.hidden',
    'dir/.well-known/x',
    '...',
    'a..b',
    'a/..b/c..',
    'file with spaces.txt',
    'Ünïcödé/naïve café.txt',
    '日本語/ファイル.txt',
    'emoji/😀.png',
    'a/_outpost',
    'a/_outpost/x',
    'docs/_OUTPOST',
    '_outposts/x',
    '_outpost2',
    'outpost/x',
    'notes:v2.txt',
    'nbsp\u00a0name',
    'quote\'and"double',
  ])('accepts %j', (path) => {
    expect(contentPathProblem(path)).toBeNull();
    expect(isContentPath(path)).toBe(true);
  });

  it.each([
    ['', 'empty path'],
    ['.', 'dot segment'],
    ['..', 'dot segment'],
    ['../etc/passwd', 'dot segment'],
    ['a/../b', 'dot segment'],
    ['a/..', 'dot segment'],
    ['./a', 'dot segment'],
    ['a/./b', 'dot segment'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['/abs', 'absolute path'],
    ['/', 'absolute path'],
    ['//server/share', 'absolute path'],
    ['C:/x', 'drive letter'],
    ['c:x', 'drive letter'],
    ['C:', 'drive letter'],
    ['a\\b', 'backslash'],
    ['\\abs', 'backslash'],
    ['..\\..\\windows', 'backslash'],
    ['a\u0000b', 'control character'],
    ['a\nb', 'control character'],
    ['a\rb', 'control character'],
    ['tab\there', 'control character'],
    ['\u001f', 'control character'],
    ['del\u007f', 'control character'],
    ['c1\u0085', 'control character'],
    ['c1\u009f', 'control character'],
    ['\ud800', 'not valid Unicode'],
    ['a\udc00b', 'not valid Unicode'],
    ['end\ud83d', 'not valid Unicode'],
    ['\ude00\ud83d', 'not valid Unicode'],
    ['_outpost', 'reserved top-level name _outpost'],
    ['_outpost/x', 'reserved top-level name _outpost'],
    ['_outpost/api/v1/status', 'reserved top-level name _outpost'],
    ['_OUTPOST', 'reserved top-level name _outpost'],
    ['_Outpost/ws', 'reserved top-level name _outpost'],
  ])('refuses %j (%s)', (path, problem) => {
    expect(contentPathProblem(path)).toBe(problem);
    expect(isContentPath(path)).toBe(false);
  });

  it('limits a segment to 255 UTF-8 bytes', () => {
    expect(isContentPath('a'.repeat(255))).toBe(true);
    expect(isContentPath(`dir/${'a'.repeat(255)}/x`)).toBe(true);
    expect(contentPathProblem('a'.repeat(256))).toBe('segment longer than 255 bytes');
    expect(contentPathProblem(`dir/${'a'.repeat(256)}/x`)).toBe('segment longer than 255 bytes');
    // Counted in bytes, not characters: 'é' is two bytes, '😀' four.
    expect(isContentPath('é'.repeat(127))).toBe(true);
    expect(isContentPath('é'.repeat(128))).toBe(false);
    expect(isContentPath('😀'.repeat(63))).toBe(true);
    expect(isContentPath('😀'.repeat(64))).toBe(false);
  });

  it('limits a whole path to 4096 UTF-8 bytes', () => {
    const seg = (n: number) => 'a'.repeat(n);
    const path = (...lengths: number[]) => lengths.map(seg).join('/');
    const full = Array.from({ length: 15 }, () => 255);
    const p4095 = path(...full, 255);
    const p4096 = path(...full, 128, 127);
    const p4097 = path(...full, 128, 128);
    expect([p4095, p4096, p4097].map((p) => Buffer.byteLength(p))).toEqual([4095, 4096, 4097]);
    expect(isContentPath(p4095)).toBe(true);
    expect(isContentPath(p4096)).toBe(true);
    expect(contentPathProblem(p4097)).toBe('longer than 4096 bytes');
    // Counted in bytes: 40 segments of 60 'é' are 2400 characters but 4839 bytes.
    const multibyte = Array.from({ length: 40 }, () => 'é'.repeat(60)).join('/');
    expect(multibyte.length).toBeLessThan(4096);
    expect(contentPathProblem(multibyte)).toBe('longer than 4096 bytes');
    expect(contentPathProblem('a/'.repeat(5000))).toBe('longer than 4096 bytes');
  });
});
