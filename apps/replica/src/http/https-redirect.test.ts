import { describe, expect, it } from 'vitest';
import { httpsLocation } from './https-redirect.js';

describe('httpsLocation', () => {
  it('keeps the host, path and query, and swaps the port', () => {
    expect(httpsLocation('uk.corp.example', '/docs/a.pdf?x=1', 443)).toBe(
      'https://uk.corp.example/docs/a.pdf?x=1',
    );
    expect(httpsLocation('uk.corp.example:80', '/', 443)).toBe('https://uk.corp.example/');
    expect(httpsLocation('127.0.0.1:8080', '/a', 8443)).toBe('https://127.0.0.1:8443/a');
    expect(httpsLocation('[::1]:8080', '/a', 8443)).toBe('https://[::1]:8443/a');
    expect(httpsLocation('UK.Corp.Example', '/', 443)).toBe('https://uk.corp.example/');
  });

  it('refuses a Host header that is no host, rather than echo it', () => {
    for (const host of [
      undefined,
      '',
      'evil.example/path',
      'a b',
      'user@evil.example',
      'x:99999999',
      '[zz',
      '-bad.example',
      'a..b',
    ]) {
      expect(httpsLocation(host, '/', 443), String(host)).toBeNull();
    }
    expect(httpsLocation('uk.corp.example', '*', 443)).toBeNull();
    expect(httpsLocation('uk.corp.example', 'http://elsewhere/', 443)).toBeNull();
  });
});
