import { ConfigError } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { cacheControlFor, DEFAULT_CACHE_CONTROL, parseCacheRules } from './cache-control.js';

describe('parseCacheRules', () => {
  it('gives no rules for no spec', () => {
    expect(parseCacheRules(undefined)).toEqual([]);
    expect(parseCacheRules('')).toEqual([]);
    expect(parseCacheRules(' ; ;; ')).toEqual([]);
  });

  it('reads the documented example', () => {
    expect(parseCacheRules('/static/=public, max-age=31536000, immutable;/=no-cache')).toEqual([
      { prefix: '/static/', value: 'public, max-age=31536000, immutable' },
      { prefix: '/', value: 'no-cache' },
    ]);
  });

  it('orders rules longest prefix first, whatever order they were written in', () => {
    const rules = parseCacheRules('/=no-cache; /a/b/c/=no-store ;/a/=max-age=60;/a/b/=max-age=600;');
    expect(rules.map((r) => r.prefix)).toEqual(['/a/b/c/', '/a/b/', '/a/', '/']);
  });

  it('trims space around prefixes and values', () => {
    expect(parseCacheRules('  /img/ =  public,max-age=86400  ')).toEqual([
      { prefix: '/img/', value: 'public,max-age=86400' },
    ]);
  });

  it('accepts quoted directive values, commas inside quotes included', () => {
    expect(parseCacheRules('/api/=private="Set-Cookie, X-Session", no-cache="X-Foo", s-maxage=0')).toEqual([
      { prefix: '/api/', value: 'private="Set-Cookie, X-Session", no-cache="X-Foo", s-maxage=0' },
    ]);
  });

  it.each([
    ['static/=public', 'static/=public'],
    ['=public', '=public'],
    ['/static/', '/static/'],
    ['/static/=', '/static/='],
    ['/a/=max-age=', '/a/=max-age='],
    ['/a/=max-age=1 2', '/a/=max-age=1 2'],
    ['/a/=public,', '/a/=public,'],
    ['/a/=, public', '/a/=, public'],
    ['/a/=no-cache="X-Foo', '/a/=no-cache="X-Foo'],
    ['/a/=max_age=10', '/a/=max_age=10'],
    ['/a/=max-age=1.5', '/a/=max-age=1.5'],
  ])('throws on the malformed rule %j, naming it', (spec, rule) => {
    expect(() => parseCacheRules(spec)).toThrow(
      `bad cache rule '${rule}': want /PREFIX=DIRECTIVES, e.g. /static/=public, max-age=3600`,
    );
  });

  it('names the bad rule, not the whole spec, when one of several is malformed', () => {
    expect(() => parseCacheRules('/ok/=public;/bad/=pub lic;/=no-cache')).toThrow(
      /^--cache-control: bad cache rule '\/bad\/=pub lic'/,
    );
  });

  it('throws a ConfigError naming the flag, which the CLI says in one line with exit 2', () => {
    expect(() => parseCacheRules('garbage')).toThrow(ConfigError);
    expect(() => parseCacheRules('garbage')).toThrow(
      "--cache-control: bad cache rule 'garbage': want /PREFIX=DIRECTIVES, e.g. /static/=public, max-age=3600",
    );
  });

  it.each([
    ['/=public,\r\nmax-age=1', "'/=public,\\r\\nmax-age=1'"],
    ['/=public\n, max-age=1', "'/=public\\n, max-age=1'"],
    ['/=no-cache="X-A,\r\nX-B"', '\'/=no-cache="X-A,\\r\\nX-B"'],
    ['/a\nb/=public', "'/a\\nb/=public'"],
    ['/=public,\x00max-age=1', "'/=public,\\x00max-age=1'"],
  ])(
    'refuses control characters (a CR or LF would make a header Node refuses) in %j, shown escaped',
    (spec, shown) => {
      let message = '';
      try {
        parseCacheRules(spec);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toContain(`bad cache rule ${shown}`);
      for (const c of ['\r', '\n', '\0']) expect(message).not.toContain(c);
    },
  );

  it('still takes spaces and tabs around the commas', () => {
    expect(parseCacheRules('/=public ,\tmax-age=60')).toEqual([
      { prefix: '/', value: 'public ,\tmax-age=60' },
    ]);
  });
});

describe('cacheControlFor', () => {
  it('defaults to no-cache', () => {
    expect(DEFAULT_CACHE_CONTROL).toBe('no-cache');
    expect(cacheControlFor([], 'index.html')).toBe('no-cache');
    expect(cacheControlFor([], '')).toBe('no-cache');
    expect(cacheControlFor(parseCacheRules('/static/=immutable'), 'app.js')).toBe('no-cache');
  });

  it('lets the longest matching prefix win regardless of the order the rules were written in', () => {
    const specs = [
      '/=max-age=1;/static/=max-age=2;/static/fonts/=max-age=3',
      '/static/fonts/=max-age=3;/=max-age=1;/static/=max-age=2',
      '/static/=max-age=2;/static/fonts/=max-age=3;/=max-age=1',
    ];
    for (const spec of specs) {
      const rules = parseCacheRules(spec);
      expect(cacheControlFor(rules, 'static/fonts/a.woff2')).toBe('max-age=3');
      expect(cacheControlFor(rules, 'static/app.js')).toBe('max-age=2');
      expect(cacheControlFor(rules, 'static/fonts')).toBe('max-age=2');
      expect(cacheControlFor(rules, 'index.html')).toBe('max-age=1');
      expect(cacheControlFor(rules, '')).toBe('max-age=1');
    }
  });

  it('matches against the path with a leading slash, as a plain prefix', () => {
    const rules = parseCacheRules('/static=public');
    expect(cacheControlFor(rules, 'static/x.css')).toBe('public');
    expect(cacheControlFor(rules, 'staticky.txt')).toBe('public');
    expect(cacheControlFor(rules, 'a/static/x.css')).toBe('no-cache');
    expect(cacheControlFor(parseCacheRules('/static/=public'), 'static')).toBe('no-cache');
  });

  it('is case-sensitive, like tree paths', () => {
    const rules = parseCacheRules('/Static/=public');
    expect(cacheControlFor(rules, 'Static/a')).toBe('public');
    expect(cacheControlFor(rules, 'static/a')).toBe('no-cache');
  });
});
