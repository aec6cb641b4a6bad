import { describe, expect, it } from 'vitest';
import {
  codedEtag,
  isCompressible,
  MAX_COMPRESS_BYTES,
  MIN_COMPRESS_BYTES,
  negotiateCoding,
} from './encoding.js';

describe('negotiateCoding', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['br', 'br'],
    ['gzip', 'gzip'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip, deflate', 'gzip'],
    ['deflate', null],
    ['identity', null],
    ['identity, gzip', 'gzip'],
    ['BR', 'br'],
    ['GZip;Q=0.5', 'gzip'],
    // q-values
    ['gzip;q=1.0, br;q=0.5', 'gzip'],
    ['gzip;q=0.4, br;q=0.5', 'br'],
    ['br;q=0.001, gzip;q=0.002', 'gzip'],
    ['gzip ; q = 0.8, br;q=0.3', 'gzip'],
    // ties prefer br
    ['gzip, br', 'br'],
    ['gzip;q=0.5, br;q=0.5', 'br'],
    // refusals
    ['br;q=0', null],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0, br;q=0', null],
    ['gzip;q=0.0, br;q=0.000', null],
    // `*` covers what is not named
    ['*', 'br'],
    ['*;q=0', null],
    ['br;q=0, *', 'gzip'],
    ['gzip;q=0, *', 'br'],
    ['*;q=0.5, gzip', 'gzip'],
    ['*;q=0, gzip;q=0.1', 'gzip'],
    // x-gzip is gzip; gzip itself wins when both are named
    ['x-gzip', 'gzip'],
    ['x-gzip;q=0.9, br;q=0.5', 'gzip'],
    ['gzip;q=0, x-gzip', null],
    // OWS before the ';' of a weight (RFC 9110 §12.4.2)
    ['br ;q=0, *', 'gzip'],
    ['gzip ;q=1', 'gzip'],
    ['br\t;q=0.1, gzip ;q=0.2', 'gzip'],
    // garbage
    [',,,', null],
    [';;;', null],
    [' , ;q=1, ', null],
    ['compress, sdch, foo/bar', null],
    ['br;q=1.0.0', null],
    ['br;q=.., gzip', 'gzip'],
    ['br;foo=bar', 'br'],
    // a weight that is no qvalue (RFC 9110 §12.4.2) makes that coding unacceptable, not q=1
    ['br;q=abc', null],
    ['br;q=abc, gzip', 'gzip'],
    ['br;q=, gzip;q=0.5', 'gzip'],
    ['br;q=1.5, gzip;q=0.1', 'gzip'],
    ['br;q=1.001, gzip;q=0.1', 'gzip'],
    ['br;q=0.5000, gzip;q=0.1', 'gzip'],
    ['br;q=-1, gzip;q=0.1', 'gzip'],
    ['br;q=0x1, gzip;q=0.1', 'gzip'],
    ['br;q=1e0, gzip;q=0.1', 'gzip'],
    ['*;q=abc', null],
    ['*;q=abc, gzip;q=0.1', 'gzip'],
    // and every form the grammar allows still counts
    ['br;q=1.000, gzip;q=0.999', 'br'],
    ['br;q=1., gzip;q=0.9', 'br'],
    ['br;q=0., gzip;q=0.1', 'gzip'],
  ])('Accept-Encoding %j → %s', (header, expected) => {
    expect(negotiateCoding(header)).toBe(expected);
  });
});

describe('isCompressible', () => {
  it('holds the documented thresholds', () => {
    expect(MIN_COMPRESS_BYTES).toBe(256);
    expect(MAX_COMPRESS_BYTES).toBe(16 * 1024 * 1024);
  });

  it('takes sizes from MIN_COMPRESS_BYTES to MAX_COMPRESS_BYTES inclusive', () => {
    const type = 'text/html; charset=utf-8';
    expect(isCompressible(type, 0)).toBe(false);
    expect(isCompressible(type, 255)).toBe(false);
    expect(isCompressible(type, 256)).toBe(true);
    expect(isCompressible(type, 1_000_000)).toBe(true);
    expect(isCompressible(type, 16 * 1024 * 1024)).toBe(true);
    expect(isCompressible(type, 16 * 1024 * 1024 + 1)).toBe(false);
  });

  it.each([
    'text/html; charset=utf-8',
    'text/css',
    'text/plain',
    'text/csv',
    'application/json',
    'application/json; charset=utf-8',
    'application/javascript',
    'application/xml',
    'application/xhtml+xml',
    'application/rss+xml',
    'application/atom+xml',
    'application/ld+json',
    'application/manifest+json',
    'application/wasm',
    'application/x-sh',
    'application/yaml',
    'application/toml',
    'application/x-tar',
    'image/svg+xml',
    'image/x-icon',
    'image/bmp',
    'font/ttf',
    'font/otf',
  ])('compresses %s', (type) => {
    expect(isCompressible(type, 4096)).toBe(true);
  });

  it.each([
    'image/png',
    'image/jpeg',
    'image/webp',
    'image/avif',
    'video/mp4',
    'audio/mpeg',
    'font/woff',
    'font/woff2',
    'application/zip',
    'application/gzip',
    'application/pdf',
    'application/octet-stream',
    'application/x-7z-compressed',
    'multipart/byteranges',
    '',
  ])('leaves %j as it is', (type) => {
    expect(isCompressible(type, 4096)).toBe(false);
  });
});

describe('codedEtag', () => {
  it('quotes the hash for identity and suffixes the coding otherwise', () => {
    expect(codedEtag('abc', null)).toBe('"abc"');
    expect(codedEtag('abc', 'br')).toBe('"abc-br"');
    expect(codedEtag('abc', 'gzip')).toBe('"abc-gz"');
  });

  it('gives three distinct strong tags for one hash', () => {
    const hash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const tags = [codedEtag(hash, null), codedEtag(hash, 'br'), codedEtag(hash, 'gzip')];
    expect(new Set(tags).size).toBe(3);
    for (const t of tags) expect(t).toMatch(/^"[0-9a-z-]+"$/);
  });
});
