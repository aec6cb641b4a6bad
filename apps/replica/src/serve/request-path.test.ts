import { describe, expect, it } from 'vitest';
import { parseRequestPath } from './request-path.js';

describe('parseRequestPath', () => {
  it.each([
    ['/', { kind: 'dir', path: '' }],
    ['/?download=1', { kind: 'dir', path: '' }],
    ['/a.txt', { kind: 'file', path: 'a.txt' }],
    ['/docs/policies/holiday.pdf', { kind: 'file', path: 'docs/policies/holiday.pdf' }],
    ['/docs/', { kind: 'dir', path: 'docs' }],
    ['/docs/policies/', { kind: 'dir', path: 'docs/policies' }],
    ['/docs/policies/?sort=name', { kind: 'dir', path: 'docs/policies' }],
    ['/a.txt?v=2&x=%2F..%2F', { kind: 'file', path: 'a.txt' }],
    ['/file%20with%20spaces.txt', { kind: 'file', path: 'file with spaces.txt' }],
    ['/caf%C3%A9/na%C3%AFve.txt', { kind: 'file', path: 'café/naïve.txt' }],
    ['/日本語/ファイル.txt', { kind: 'file', path: '日本語/ファイル.txt' }],
    ['/what%3F.txt', { kind: 'file', path: 'what?.txt' }],
    ['/a%23b', { kind: 'file', path: 'a#b' }],
    ['/.hidden', { kind: 'file', path: '.hidden' }],
    ['/a..b/c', { kind: 'file', path: 'a..b/c' }],
    ['/a/_outpost/x', { kind: 'file', path: 'a/_outpost/x' }],
  ])('reads %j', (target, expected) => {
    expect(parseRequestPath(target)).toEqual(expected);
  });

  // RFC 9112 §3.2.2: a server MUST accept the absolute-form, as proxies send it; the authority
  // names no file, only the path and query that follow it count.
  it.each([
    ['http://127.0.0.1:7081/small.txt', { kind: 'file', path: 'small.txt' }],
    ['https://uk.corp.example/docs/guide.md?x=1', { kind: 'file', path: 'docs/guide.md' }],
    ['HTTP://UK.CORP.EXAMPLE/docs/', { kind: 'dir', path: 'docs' }],
    ['http://uk.corp.example', { kind: 'dir', path: '' }],
    ['http://uk.corp.example?x=1', { kind: 'dir', path: '' }],
    ['http://[::1]:7081/caf%C3%A9.txt', { kind: 'file', path: 'café.txt' }],
  ])('reads the absolute-form %j', (target, expected) => {
    expect(parseRequestPath(target)).toEqual(expected);
  });

  // As nginx's merge_slashes: URLs glued as "$BASE/$FILE" with a base that ends in a slash.
  it.each([
    ['/a//b', { kind: 'file', path: 'a/b' }],
    ['//a.txt', { kind: 'file', path: 'a.txt' }],
    ['/docs//', { kind: 'dir', path: 'docs' }],
    ['//', { kind: 'dir', path: '' }],
    ['///docs///guide.md?x=//y', { kind: 'file', path: 'docs/guide.md' }],
    ['//etc/passwd', { kind: 'file', path: 'etc/passwd' }],
    ['//example.com/a.txt', { kind: 'file', path: 'example.com/a.txt' }],
    ['http://example.com//etc/passwd', { kind: 'file', path: 'etc/passwd' }],
  ])('reads a run of slashes as one: %j', (target, expected) => {
    expect(parseRequestPath(target)).toEqual(expected);
  });

  // A fragment is the client's (RFC 9110 §4.2.5); a raw `#` never names a file.
  it.each([
    ['/a.txt#frag', { kind: 'file', path: 'a.txt' }],
    ['/hash#name.txt', { kind: 'file', path: 'hash' }],
    ['/docs/?a#b', { kind: 'dir', path: 'docs' }],
    ['/docs#/../../etc/passwd', { kind: 'file', path: 'docs' }],
  ])('ends the target at a raw #: %j', (target, expected) => {
    expect(parseRequestPath(target)).toEqual(expected);
  });

  it.each([
    ['/a/%2F/b', 'encoded path separator'],
    ['//..//etc/passwd', 'dot segment'],
    ['/a/.//b', 'dot segment'],
  ])('still refuses what merged slashes leave: %j', (target, reason) => {
    expect(parseRequestPath(target)).toEqual({ kind: 'bad', reason });
  });

  it('decodes once, never twice', () => {
    expect(parseRequestPath('/%25')).toEqual({ kind: 'file', path: '%' });
    expect(parseRequestPath('/%252e%252e/etc/passwd')).toEqual({ kind: 'file', path: '%2e%2e/etc/passwd' });
    expect(parseRequestPath('/a%252Fb')).toEqual({ kind: 'file', path: 'a%2Fb' });
  });

  it.each([
    ['', 'request target must be an absolute path'],
    ['a.txt', 'request target must be an absolute path'],
    ['ftp://example.com/a.txt', 'request target must be an absolute path'],
    ['http:/a.txt', 'request target must be an absolute path'],
    ['http:///a.txt', 'no host in the request target'],
    ['http://user:pw@example.com/a.txt', 'userinfo in the request target'],
    ['http://example.com/../secret.txt', 'dot segment'],
    ['http://example.com/a%2fb', 'encoded path separator'],
    ['*', 'request target must be an absolute path'],
    ['/a%2Fb', 'encoded path separator'],
    ['/a%2fb', 'encoded path separator'],
    ['/a%5Cb', 'encoded path separator'],
    ['/a%5cb', 'encoded path separator'],
    ['/%2e%2e%2fetc%2fpasswd', 'encoded path separator'],
    ['/%E0%A4%A', 'malformed percent-encoding'],
    ['/%', 'malformed percent-encoding'],
    ['/%zz', 'malformed percent-encoding'],
    ['/%ED%A0%80', 'malformed percent-encoding'],
    ['/../etc/passwd', 'dot segment'],
    ['/a/../../etc/passwd', 'dot segment'],
    ['/%2e%2e/etc/passwd', 'dot segment'],
    ['/a/%2E%2E/b', 'dot segment'],
    ['/./a', 'dot segment'],
    ['/a/.', 'dot segment'],
    ['/a/../', 'dot segment'],
    ['/a\\b', 'backslash'],
    ['/..\\..\\windows', 'backslash'],
    ['/C:/Windows/win.ini', 'drive letter'],
    ['/a%00.txt', 'control character'],
    ['/a%0Ab', 'control character'],
    ['/_outpost/api/v1/status', 'reserved top-level name _outpost'],
    ['/_OUTPOST/x', 'reserved top-level name _outpost'],
    [`/${'a'.repeat(256)}`, 'segment longer than 255 bytes'],
  ])('refuses %j', (target, reason) => {
    expect(parseRequestPath(target)).toEqual({ kind: 'bad', reason });
  });
});
