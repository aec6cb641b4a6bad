import { describe, expect, it } from 'vitest';
import { formatAdvertise, isConcreteIp, parseAdvertise } from './advertise.js';

describe('parseAdvertise', () => {
  it.each([
    ['10.0.0.5', { host: '10.0.0.5', port: null, family: 4 }],
    ['10.0.0.5:8080', { host: '10.0.0.5', port: 8080, family: 4 }],
    ['[::1]:8080', { host: '::1', port: 8080, family: 6 }],
    ['[2001:DB8::1]', { host: '2001:db8::1', port: null, family: 6 }],
    ['2001:db8::7', { host: '2001:db8::7', port: null, family: 6 }],
    ['uk-london.corp.example:80', { host: 'uk-london.corp.example', port: 80, family: 0 }],
    ['Proxy1', { host: 'proxy1', port: null, family: 0 }],
  ])('%s', (input, want) => {
    expect(parseAdvertise(input)).toEqual(want);
  });

  it.each([
    '',
    '10.0.0.5:0',
    '10.0.0.5:70000',
    '10.0.0.5:http',
    '999.1.1.1',
    '1.2.3',
    '[10.0.0.1]:80',
    '::1:8080:x',
    'bad_host:80',
    'a..b',
    '-x.example',
    // Not an address readers can reach: DNS would answer it (a zone even became another address).
    '0.0.0.0:8080',
    '[::]:8080',
    '[fe80::1%eth0]:8080',
    'fe80::1%eth0',
  ])('refuses %j', (input) => {
    expect(parseAdvertise(input)).toHaveProperty('error');
  });

  it('formats back what it parses', () => {
    expect(formatAdvertise('::1', 80)).toBe('[::1]:80');
    expect(formatAdvertise('10.1.1.1', 80)).toBe('10.1.1.1:80');
    expect(parseAdvertise(formatAdvertise('fe80::1', 443))).toEqual({
      host: 'fe80::1',
      port: 443,
      family: 6,
    });
  });

  it('knows a concrete IP from a wildcard', () => {
    expect(isConcreteIp('127.0.0.2')).toBe(true);
    expect(isConcreteIp('0.0.0.0')).toBe(false);
    expect(isConcreteIp('::')).toBe(false);
    expect(isConcreteIp('::1')).toBe(true);
    expect(isConcreteIp('localhost')).toBe(false);
    expect(isConcreteIp('fe80::1%eth0')).toBe(false);
  });
});
