import { describe, expect, it } from 'vitest';
import { MasterConfigSchema, ReplicaConfigSchema } from './config.js';
import { MASTER_URL_FORM } from './master-url.js';

const replica = {
  name: 'uk-london',
  region: 'uk',
  master: 'http://hq.example.com:7070',
  data: '/var/lib/outpost',
};

describe('MasterConfigSchema', () => {
  it('applies the defaults', () => {
    expect(MasterConfigSchema.parse({ content: '/srv/content', data: '/var/lib/outpost' })).toEqual({
      content: '/srv/content',
      data: '/var/lib/outpost',
      host: '127.0.0.1',
      port: 7070,
      quietMs: 30,
      maxDelayMs: 1000,
      settleMs: 50,
      laneMib: 64,
      exclude: [],
      keepVersions: 100,
      heartbeatMs: 5000,
      rewalkMs: 600_000,
      logLevel: 'info',
      dnsPort: 5353,
      dnsTtl: 5,
      dnsMaxLag: 0,
      dnsFallback: {},
      dnsMode: 'all',
      drainMs: 10_000,
      scrubBytesPerSecond: 8 * 1024 * 1024,
    });
  });

  it('reads the DNS options: zone, fallback order, mode', () => {
    const c = MasterConfigSchema.parse({
      content: 'c',
      data: 'd',
      zone: 'Corp.Example.',
      dnsFallback: 'uk:eu, us; asia:us;*:us',
      dnsMode: 'one',
      dnsTtl: '2',
    });
    expect(c).toMatchObject({
      zone: 'corp.example',
      dnsFallback: { uk: ['eu', 'us'], asia: ['us'], '*': ['us'] },
      dnsMode: 'one',
      dnsTtl: 2,
    });
  });

  it.each([
    ['zone', 'not a zone!'],
    ['zone', '-bad.example'],
    ['dnsFallback', 'uk=eu'],
    ['dnsFallback', 'UK:eu'],
    ['dnsFallback', 'uk:'],
    ['dnsMode', 'some'],
    ['dnsTtl', '-1'],
  ])('refuses %s %j', (key, value) => {
    const r = MasterConfigSchema.safeParse({ content: 'c', data: 'd', [key]: value });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path[0]).toBe(key);
  });

  it('keeps given values and coerces numbers from strings (environment variables)', () => {
    const config = MasterConfigSchema.parse({
      content: 'c',
      data: 'd',
      host: '0.0.0.0',
      port: '8080',
      quietMs: '50',
      token: 's3cret',
      adminToken: 'admin',
      logLevel: 'debug',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      quietMs: 50,
      token: 's3cret',
      adminToken: 'admin',
    });
    expect(config.logLevel).toBe('debug');
  });

  it.each([
    ['missing content', { data: 'd' }],
    ['missing data', { content: 'c' }],
    ['empty content', { content: '', data: 'd' }],
    ['port too high', { content: 'c', data: 'd', port: 65536 }],
    ['negative port', { content: 'c', data: 'd', port: -1 }],
    ['port not a number', { content: 'c', data: 'd', port: 'http' }],
    ['fractional port', { content: 'c', data: 'd', port: 80.5 }],
    ['zero quiet window', { content: 'c', data: 'd', quietMs: 0 }],
    ['heartbeat over an hour', { content: 'c', data: 'd', heartbeatMs: 3_600_001 }],
    ['empty token', { content: 'c', data: 'd', token: '' }],
    ['unknown log level', { content: 'c', data: 'd', logLevel: 'verbose' }],
    ['empty host', { content: 'c', data: 'd', host: '' }],
  ])('refuses %s', (_name, input) => {
    expect(MasterConfigSchema.safeParse(input).success).toBe(false);
  });
});

describe('exclude patterns', () => {
  const parse = (exclude: unknown) => MasterConfigSchema.safeParse({ content: '/c', data: '/d', exclude });
  it.each(['*.*', '??*', '?', '*.log', '*/**', '**/x', 'build/*', '.*'])(
    'takes %s, which leaves out some names, not every one',
    (pattern) => {
      expect(parse(pattern).success).toBe(true);
    },
  );
  it('splits a value at ; and drops blanks', () => {
    expect(parse(' .git ; *.log;;/drafts/ ').data?.exclude).toEqual(['.git', '*.log', '/drafts/']);
    expect(parse(['.git', 'build/**/*.map']).data?.exclude).toEqual(['.git', 'build/**/*.map']);
  });
  it.each([
    ['!keep.html', /negation/],
    ['..', /no \. or \.\. folders/],
    ['a/../b', /no \. or \.\. folders/],
    ['./a', /no \. or \.\. folders/],
    ['/', /whole content directory/],
    // Every name matches them: nothing would be published, and every replica would serve nothing.
    ['*', /whole content directory/],
    ['**', /whole content directory/],
    ['/*', /whole content directory/],
    ['/**/', /whole content directory/],
    ['*/', /whole content directory/],
    ['?*', /whole content directory/],
    ['*?', /whole content directory/],
    ['a//b', /empty folder name/],
    [';', /holds no pattern/],
    [' ; ;', /holds no pattern/],
  ])('refuses %s', (pattern, reason) => {
    const r = parse(pattern);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(reason);
  });
});

describe('integer flags', () => {
  // What Number() reads and a person does not mean: an empty flag (`--port ''` listened on a
  // random port), hexadecimal, binary, exponents, padding, signs, fractions.
  const notDecimal = ['', '0x50', '0b11111111111', '0o17', '1e4', ' 80', '80 ', '+80', '80.0', '8_0'];

  it.each(notDecimal)('refuses --port %j, saying it takes decimal digits', (port) => {
    const r = MasterConfigSchema.safeParse({ content: 'c', data: 'd', port });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['port']);
    expect(r.error!.issues[0]!.message).toMatch(/^expected a whole number in decimal digits, not /);
  });

  it('says an empty value is empty', () => {
    const r = MasterConfigSchema.safeParse({ content: 'c', data: 'd', port: '' });
    expect(r.error!.issues[0]!.message).toBe('expected a whole number in decimal digits, not an empty value');
  });

  it.each([
    'quietMs',
    'maxDelayMs',
    'settleMs',
    'keepVersions',
    'rewalkMs',
    'heartbeatMs',
    'dnsPort',
    'dnsTtl',
    'dnsMaxLag',
    'drainMs',
    'scrubBytesPerSecond',
  ] as const)('refuses master --%s in anything but decimal digits', (key) => {
    for (const value of ['', '0x10', '1e2']) {
      const r = MasterConfigSchema.safeParse({ content: 'c', data: 'd', [key]: value });
      expect(r.success, `${key} ${JSON.stringify(value)}`).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual([key]);
    }
    expect(MasterConfigSchema.parse({ content: 'c', data: 'd', [key]: '0100' })[key]).toBe(100);
  });

  it.each([
    'port',
    'httpRedirectPort',
    'keepAliveMs',
    'headersTimeoutMs',
    'drainMs',
    'scrubBytesPerSecond',
    'pollMs',
    'heartbeatMs',
  ] as const)('refuses replica --%s in anything but decimal digits', (key) => {
    for (const value of ['', '0x3e8', '1e3']) {
      const r = ReplicaConfigSchema.safeParse({ ...replica, [key]: value });
      expect(r.success, `${key} ${JSON.stringify(value)}`).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual([key]);
    }
    expect(ReplicaConfigSchema.parse({ ...replica, [key]: '1000' })[key]).toBe(1000);
  });

  it('still takes numbers from code, and leaves an unset flag to its default', () => {
    expect(MasterConfigSchema.parse({ content: 'c', data: 'd', port: 0 }).port).toBe(0);
    expect(MasterConfigSchema.parse({ content: 'c', data: 'd', port: undefined }).port).toBe(7070);
    expect(MasterConfigSchema.safeParse({ content: 'c', data: 'd', port: true }).success).toBe(false);
  });

  it('reads --keep-days in decimal, with a fraction', () => {
    expect(MasterConfigSchema.parse({ content: 'c', data: 'd', keepDays: '1.5' }).keepDays).toBe(1.5);
    expect(MasterConfigSchema.parse({ content: 'c', data: 'd', keepDays: '30' }).keepDays).toBe(30);
    for (const keepDays of ['', '1e1', '0x1e', '.5', '1.'])
      expect(MasterConfigSchema.safeParse({ content: 'c', data: 'd', keepDays }).success, keepDays).toBe(
        false,
      );
  });
});

describe('ReplicaConfigSchema', () => {
  it('checks the advertised address', () => {
    expect(ReplicaConfigSchema.parse({ ...replica, advertise: '[::1]:8080' }).advertise).toBe('[::1]:8080');
    const r = ReplicaConfigSchema.safeParse({ ...replica, advertise: '::1:8080:zz' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/bad address/);
  });

  it('applies the defaults', () => {
    expect(ReplicaConfigSchema.parse(replica)).toEqual({
      ...replica,
      host: '127.0.0.1',
      port: 7080,
      pollMs: 2000,
      heartbeatMs: 5000,
      reconnectMinMs: 250,
      reconnectMaxMs: 30_000,
      dirListing: false,
      compress: true,
      keepAliveMs: 65_000,
      headersTimeoutMs: 10_000,
      drainMs: 10_000,
      scrubBytesPerSecond: 8 * 1024 * 1024,
      prefetch: true,
      directLane: true,
      maxRate: 0,
      wireCompression: 'auto',
      wireRawAbove: 40 * 1024 * 1024,
      minFreeSpace: 0,
      accessLogFormat: 'combined',
      logLevel: 'info',
    });
  });

  it.each([
    ['1048576', 1048576],
    ['512k', 512 * 1024],
    ['10MiB', 10 * 1024 * 1024],
    ['1.5G', 1.5 * 1024 ** 3],
    ['2MB/s', 2 * 1024 * 1024],
    [65536, 65536],
    ['8k', 8192],
    ['0', 0],
  ])('reads --max-rate %s', (maxRate, bytes) => {
    expect(ReplicaConfigSchema.parse({ ...replica, maxRate }).maxRate).toBe(bytes);
  });

  it.each(['fast', '-1', '10 TB', '1e9', '', '1000', '1k', 8191])('refuses --max-rate %s', (maxRate) => {
    expect(ReplicaConfigSchema.safeParse({ ...replica, maxRate }).success).toBe(false);
  });

  it.each([
    [undefined, 'auto'],
    [true, 'auto'],
    ['true', 'auto'],
    [false, 'never'],
    ['false', 'never'],
    ['always', 'always'],
    ['never', 'never'],
  ])('reads --wire-compression %s as %s', (wireCompression, mode) => {
    expect(ReplicaConfigSchema.parse({ ...replica, wireCompression }).wireCompression).toBe(mode);
  });

  it('refuses another --wire-compression, or a --wire-raw-above under 8k, saying what it takes', () => {
    const mode = ReplicaConfigSchema.safeParse({ ...replica, wireCompression: 'sometimes' });
    expect(mode.success).toBe(false);
    expect(mode.error?.issues[0]?.message).toBe("expected 'auto', 'always' or 'never'");
    expect(ReplicaConfigSchema.parse({ ...replica, wireRawAbove: '100MiB' }).wireRawAbove).toBe(
      100 * 1024 * 1024,
    );
    const rate = ReplicaConfigSchema.safeParse({ ...replica, wireRawAbove: '1k' });
    expect(rate.success).toBe(false);
    expect(rate.error?.issues[0]?.message).toMatch(/at least 8192/);
  });

  it.each([
    ['0', 0],
    ['512MiB', 512 * 1024 * 1024],
    ['2G', 2 * 1024 ** 3],
    ['off', 'off'],
  ])('reads --min-free-space %s', (minFreeSpace, value) => {
    expect(ReplicaConfigSchema.parse({ ...replica, minFreeSpace }).minFreeSpace).toBe(value);
  });

  it.each(['none', '-1', '1e9', 'OFF '])(
    'refuses --min-free-space %s, saying what it takes',
    (minFreeSpace) => {
      const r = ReplicaConfigSchema.safeParse({ ...replica, minFreeSpace });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toBe("expected a byte size such as 0, 512MiB or 2G, or 'off'");
    },
  );

  it.each(['http://hq:7070', 'https://hq.example.com', 'https://10.0.0.1:8443/base/', 'http://[::1]:7070'])(
    'accepts master URL %s',
    (master) => {
      expect(ReplicaConfigSchema.parse({ ...replica, master }).master).toBe(master);
    },
  );

  it.each([
    '',
    'hq.example.com:7070',
    'not a url',
    'ftp://hq.example.com',
    'ws://hq.example.com:7070',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'http://',
    'http:/hq',
    // API paths are appended to it: `/?x=1/_outpost/…`.
    'http://127.0.0.1:7070?x=1',
    'http://127.0.0.1:7070/?x=1',
    'http://127.0.0.1:7070?',
    'https://hq.example.com/outpost#top',
    'https://hq.example.com/outpost/#',
  ])('refuses master URL %j', (master) => {
    expect(ReplicaConfigSchema.safeParse({ ...replica, master }).success).toBe(false);
  });

  it('says what a master URL of another scheme, or no URL, should be', () => {
    for (const master of ['ftp://hq', 'hq.example.com:7070']) {
      const r = ReplicaConfigSchema.safeParse({ ...replica, master });
      expect(r.error?.issues[0]?.message).toBe('not an http:// or https:// URL');
    }
  });

  it.each([
    ['http://hq:7070/_outpost', 'http://hq:7070/'],
    ['http://hq:7070/_outpost/api/v1/', 'http://hq:7070/'],
    ['https://hq.example.com/outpost/_outpost/', 'https://hq.example.com/outpost'],
  ])('takes the admin base path off master URL %s', (master, meant) => {
    expect(ReplicaConfigSchema.parse({ ...replica, master }).master).toBe(meant);
  });

  it.each(['http://hq:7070/_outpost/dashboard', 'http://hq:7070/_outpost/api/v1/manifest'])(
    'refuses master URL %s, saying what it wants',
    (master) => {
      const r = ReplicaConfigSchema.safeParse({ ...replica, master });
      expect(r.error?.issues[0]?.message).toBe(MASTER_URL_FORM);
    },
  );

  it('refuses a missing master', () => {
    const { master: _master, ...rest } = replica;
    expect(ReplicaConfigSchema.safeParse(rest).success).toBe(false);
  });

  it.each([
    ['uppercase name', { name: 'UK-London' }],
    ['underscore in name', { name: 'uk_london' }],
    ['uppercase region', { region: 'UK' }],
    ['underscore in region', { region: 'north_america' }],
    ['empty region', { region: '' }],
    ['advertise too long', { advertise: 'a'.repeat(301) }],
    ['port too high', { port: 99_999 }],
    ['zero poll interval', { pollMs: 0 }],
  ])('refuses %s', (_name, over) => {
    expect(ReplicaConfigSchema.safeParse({ ...replica, ...over }).success).toBe(false);
  });

  it('coerces ports and intervals given as strings', () => {
    expect(ReplicaConfigSchema.parse({ ...replica, port: '9000', pollMs: '500' })).toMatchObject({
      port: 9000,
      pollMs: 500,
    });
  });
});

describe('the DNS port beside the HTTP port', () => {
  const parse = (o: Record<string, unknown>) =>
    MasterConfigSchema.safeParse({ content: '/c', data: '/d', zone: 'corp.example', ...o });
  it('refuses --dns-port equal to --port on the same address, naming the flag', () => {
    const r = parse({ port: 31095, dnsPort: 31095 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['dnsPort']);
    expect(r.error?.issues[0]?.message).toMatch(/31095 is --port too/);
  });
  it('takes it on another address, or without a zone (no DNS server)', () => {
    expect(parse({ port: 31095, dnsPort: 31095, dnsHost: '127.0.0.2' }).success).toBe(true);
    expect(
      MasterConfigSchema.safeParse({ content: '/c', data: '/d', port: 31095, dnsPort: 31095 }).success,
    ).toBe(true);
  });
});
