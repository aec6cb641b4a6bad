import { describe, expect, it } from 'vitest';
import { scanHead } from './wire-head.js';

const LIMITS = { maxHeaderBytes: 16 * 1024, maxHeadersCount: 100 };
const scan = (text: string, limits = LIMITS) => scanHead(Buffer.from(text, 'latin1'), 0, limits);
const get = (target: string, fields = 'Host: x\r\n') => `GET ${target} HTTP/1.1\r\n${fields}\r\n`;

describe('scanHead', () => {
  it('reads a plain GET: method, target, length, and nothing else set', () => {
    const text = get('/a/b.txt');
    expect(scan(text)).toStrictEqual({
      method: 'GET',
      target: '/a/b.txt',
      path: 'a/b.txt',
      length: text.length,
      version: '1.1',
      close: false,
      ifNoneMatch: undefined,
      ifModifiedSince: undefined,
      acceptEncoding: undefined,
      accept: undefined,
      referer: undefined,
      userAgent: undefined,
    });
  });

  it('reads HEAD, and the headers the lane answers by, trimmed, names in any case', () => {
    const head = scan(
      'HEAD /x HTTP/1.1\r\nhOsT: example\r\nIf-None-Match:  "a", W/"b"  \r\nIF-MODIFIED-SINCE: Mon, 15 Jan 2024 12:00:00 GMT\r\n' +
        'Accept-Encoding: br;q=1, gzip\r\nAccept:\ttext/html\r\nReferer: http://r/\r\nUser-Agent: curl/8\r\nX-Other: y\r\n\r\n',
    );
    expect(head).toMatchObject({
      method: 'HEAD',
      target: '/x',
      ifNoneMatch: '"a", W/"b"',
      ifModifiedSince: 'Mon, 15 Jan 2024 12:00:00 GMT',
      acceptEncoding: 'br;q=1, gzip',
      accept: 'text/html',
      referer: 'http://r/',
      userAgent: 'curl/8',
    });
  });

  it('reads a head at an offset, and the one after it', () => {
    const first = get('/one');
    const buf = Buffer.from(first + get('/two'), 'latin1');
    expect(scanHead(buf, 0, LIMITS)?.target).toBe('/one');
    expect(scanHead(buf, first.length, LIMITS)?.target).toBe('/two');
  });

  it('takes every pchar and slash in the target', () => {
    const target = "/AZaz09-._~!$&'()*+,;=:@/x";
    expect(scan(get(target))?.target).toBe(target);
  });

  it('takes a query, which names no file: the path is what comes before it', () => {
    const target = "/a/b.txt?v=1&x=%2F/?AZaz09-._~!$'()*+,;:@";
    expect(scan(get(target))).toMatchObject({ target, path: 'a/b.txt' });
    expect(scan(get('/?'))).toMatchObject({ target: '/?', path: '' });
  });

  it('reads Connection: close (and keep-alive, in any case, in a list)', () => {
    expect(scan(get('/x', 'Host: x\r\nConnection: close\r\n'))?.close).toBe(true);
    expect(scan(get('/x', 'Host: x\r\nConnection: Keep-Alive\r\n'))?.close).toBe(false);
    expect(scan(get('/x', 'Host: x\r\nConnection: keep-alive, CLOSE\r\n'))?.close).toBe(true);
  });

  it('reads HTTP/1.0: the connection closes after the answer unless it asks for keep-alive', () => {
    const get10 = (fields: string) => `GET /x HTTP/1.0\r\nHost: x\r\n${fields}\r\n`;
    expect(scan(get10(''))).toMatchObject({ version: '1.0', close: true });
    expect(scan(get10('Connection: Keep-Alive\r\n'))).toMatchObject({ version: '1.0', close: false });
    expect(scan(get10('Connection: keep-alive, close\r\n'))).toMatchObject({ version: '1.0', close: true });
  });

  it('takes an empty value', () => {
    expect(scan(get('/x', 'Host: x\r\nX-Empty:\r\n'))?.target).toBe('/x');
  });

  // Every head below is node:http's to read: the lane answers none of them.
  const declined: [string, string][] = [
    ['a head not all here yet', 'GET /x HTTP/1.1\r\nHost: x\r\n'],
    ['no head at all', ''],
    ['POST', 'POST /x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a lower-case method', 'get /x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTTP/2.0', 'GET /x HTTP/2.0\r\nHost: x\r\n\r\n'],
    ['HTTP/1.0 without Host', 'GET /x HTTP/1.0\r\n\r\n'],
    ['HTTP/0.9 (no version)', 'GET /x\r\nHost: x\r\n\r\n'],
    ['an absolute-form target', get('http://x/a')],
    ['a percent-encoded target', get('/a%2e')],
    ['a fragment', get('/a#b')],
    ['a fragment after a query', get('/a?b#c')],
    ['a double quote in the query', get('/a?b"c')],
    ['a backslash in the query', get('/a?b\\c')],
    ['a space in the query', get('/a?b c')],
    ['a non-ASCII query', get('/a?caf\xe9')],
    ['a backslash', get('/a\\b')],
    ['a double quote in the target', get('/a"b')],
    ['a non-ASCII target', get('/caf\xe9')],
    ['two spaces after the method', 'GET  /x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a tab for the space', 'GET\t/x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['no Host', get('/x', 'Accept: */*\r\n')],
    ['no headers', 'GET /x HTTP/1.1\r\n\r\n'],
    ['two Hosts', get('/x', 'Host: a\r\nHost: b\r\n')],
    ['Content-Length', get('/x', 'Host: x\r\nContent-Length: 0\r\n')],
    ['Transfer-Encoding', get('/x', 'Host: x\r\nTransfer-Encoding: chunked\r\n')],
    ['transfer-encoding in odd case', get('/x', 'Host: x\r\ntRaNsFeR-eNcOdInG: chunked\r\n')],
    ['Expect', get('/x', 'Host: x\r\nExpect: 100-continue\r\n')],
    ['Upgrade', get('/x', 'Host: x\r\nUpgrade: websocket\r\n')],
    ['HTTP2-Settings', get('/x', 'Host: x\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n')],
    ['Range', get('/x', 'Host: x\r\nRange: bytes=0-0\r\n')],
    ['If-Range', get('/x', 'Host: x\r\nIf-Range: "a"\r\n')],
    ['If-Match', get('/x', 'Host: x\r\nIf-Match: "a"\r\n')],
    ['If-Unmodified-Since', get('/x', 'Host: x\r\nIf-Unmodified-Since: Mon, 15 Jan 2024 12:00:00 GMT\r\n')],
    ['Connection: upgrade', get('/x', 'Host: x\r\nConnection: upgrade\r\n')],
    ['Connection naming a header', get('/x', 'Host: x\r\nConnection: close, X-Foo\r\n')],
    ['two Connection lines', get('/x', 'Host: x\r\nConnection: close\r\nConnection: keep-alive\r\n')],
    ['two If-None-Match lines', get('/x', 'Host: x\r\nIf-None-Match: "a"\r\nIf-None-Match: "b"\r\n')],
    ['two Accept-Encoding lines', get('/x', 'Host: x\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\n')],
    ['two User-Agent lines', get('/x', 'Host: x\r\nUser-Agent: a\r\nUser-Agent: b\r\n')],
    ['a space before the colon', get('/x', 'Host : x\r\n')],
    ['a folded line (obs-fold)', get('/x', 'Host: x\r\nX-A: a\r\n b\r\n')],
    ['a line without a colon', get('/x', 'Host: x\r\nX-A\r\n')],
    ['a bare LF in a value', get('/x', 'Host: x\r\nX-A: a\nb\r\n')],
    ['a bare LF ending a line', 'GET /x HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n'],
    ['a bare CR in a value', get('/x', 'Host: x\r\nX-A: a\rb\r\n')],
    ['a NUL in a value', get('/x', 'Host: x\r\nX-A: a\0b\r\n')],
    ['obs-text in a value', get('/x', 'Host: x\r\nUser-Agent: caf\xe9\r\n')],
    ['DEL in a value', get('/x', 'Host: x\r\nX-A: a\x7fb\r\n')],
    ['a separator in a name', get('/x', 'Host: x\r\nX(A): b\r\n')],
  ];
  it.each(declined)('declines %s', (_why, text) => {
    expect(scan(text)).toBeNull();
  });

  it('declines a head over maxHeaderBytes, and one with more fields than maxHeadersCount', () => {
    const text = get('/x', `Host: x\r\nX-Pad: ${'p'.repeat(100)}\r\n`);
    expect(scan(text, { ...LIMITS, maxHeaderBytes: text.length })).not.toBeNull();
    expect(scan(text, { ...LIMITS, maxHeaderBytes: text.length - 1 })).toBeNull();
    expect(scan(text, { ...LIMITS, maxHeadersCount: 2 })).not.toBeNull();
    expect(scan(text, { ...LIMITS, maxHeadersCount: 1 })).toBeNull();
  });
});
