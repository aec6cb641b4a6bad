import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.js';
import {
  ChangeSchema,
  ChunkRefSchema,
  DeleteChangeSchema,
  ManifestSchema,
  PutChangeSchema,
} from './manifest.js';

const H = (c: string) => c.repeat(64);

const put = {
  op: 'put',
  path: 'reports/q1.xlsx',
  size: 70_000,
  hash: H('1'),
  mtime: 1_700_000_000_000,
  chunks: [
    { hash: H('2'), size: 65_536 },
    { hash: H('3'), size: 4_464 },
  ],
};

describe('ChunkRefSchema', () => {
  it('accepts a hash and a positive size', () => {
    expect(ChunkRefSchema.parse({ hash: H('a'), size: 1 })).toEqual({ hash: H('a'), size: 1 });
  });

  it.each([
    { hash: H('a'), size: 0 },
    { hash: H('a'), size: -5 },
    { hash: H('a'), size: 1.5 },
    { hash: H('a'), size: 16 * 1024 * 1024 + 1 },
    { hash: H('A'), size: 1 },
    { hash: H('a') },
  ])('refuses %j', (ref) => {
    expect(ChunkRefSchema.safeParse(ref).success).toBe(false);
  });
});

describe('ChangeSchema', () => {
  it('tells puts from deletes by op', () => {
    expect(ChangeSchema.parse(put)).toEqual(put);
    expect(PutChangeSchema.parse(put)).toEqual(put);
    expect(ChangeSchema.parse({ op: 'delete', path: 'x/y' })).toEqual({ op: 'delete', path: 'x/y' });
    expect(DeleteChangeSchema.parse({ op: 'delete', path: 'x/y', size: 3 })).toEqual({
      op: 'delete',
      path: 'x/y',
    });
  });

  it.each([
    ['a put without chunks', { ...put, chunks: undefined }],
    ['a put without mtime', { ...put, mtime: undefined }],
    ['a put of an unsafe path', { ...put, path: 'a/./b' }],
    ['a delete without path', { op: 'delete' }],
    ['a delete of an unsafe path', { op: 'delete', path: 'a//b' }],
    ['an unknown op', { op: 'rename', path: 'a' }],
    ['a missing op', { path: 'a' }],
  ])('refuses %s', (_name, change) => {
    expect(ChangeSchema.safeParse(change).success).toBe(false);
  });
});

describe('ManifestSchema', () => {
  const manifest = {
    version: 5,
    root: H('9'),
    from: 3,
    full: false,
    changes: [put, { op: 'delete', path: 'gone' }],
  };

  it('parses a manifest', () => {
    expect(ManifestSchema.parse(manifest)).toEqual(manifest);
  });

  it.each([
    ['without full', { ...manifest, full: undefined }],
    ['with full as a string', { ...manifest, full: 'false' }],
    ['with a bad root', { ...manifest, root: H('9').slice(2) }],
    ['with a negative from', { ...manifest, from: -1 }],
    [
      'with one bad change among good ones',
      { ...manifest, changes: [...manifest.changes, { op: 'delete', path: '..' }] },
    ],
    ['with a part index at its count', { ...manifest, part: { index: 2, count: 2 } }],
    ['in one part only', { ...manifest, part: { index: 0, count: 1 } }],
    ['with a negative part index', { ...manifest, part: { index: -1, count: 3 } }],
    ['in more parts than allowed', { ...manifest, part: { index: 0, count: LIMITS.maxManifestParts + 1 } }],
  ])('refuses a manifest %s', (_name, m) => {
    expect(ManifestSchema.safeParse(m).success).toBe(false);
  });

  it('parses a part of a manifest', () => {
    const part = { ...manifest, part: { index: 1, count: 3 } };
    expect(ManifestSchema.parse(part)).toEqual(part);
  });
});
