import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.js';
import {
  AckSchema,
  CloseCodes,
  HelloSchema,
  MasterMessageSchema,
  NackSchema,
  PingSchema,
  PREFETCH_FEATURE,
  PROTOCOL_VERSION,
  PrefetchSchema,
  PublishSchema,
  ReplicaMessageSchema,
  SUPPORTED_PROTOCOLS,
  WS_PATH,
} from './messages.js';

const SHA = (c: string) => c.repeat(64);
const ROOT = SHA('a');

const hello = {
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  name: 'uk-london',
  region: 'uk',
  version: 12,
  root: ROOT,
};

const put = {
  op: 'put',
  path: 'docs/policy.pdf',
  size: 5,
  hash: SHA('b'),
  mtime: 1_700_000_000_000,
  chunks: [{ hash: SHA('c'), size: 5 }],
  data: Buffer.from('hello').toString('base64'),
};

const publish = {
  type: 'publish',
  version: 13,
  root: SHA('d'),
  from: 12,
  full: false,
  changes: [put, { op: 'delete', path: 'old/file.txt' }],
};

describe('constants', () => {
  it('names the WebSocket path and close codes', () => {
    expect(PROTOCOL_VERSION).toBe(2);
    expect(SUPPORTED_PROTOCOLS).toEqual([1, 2]);
    expect(WS_PATH).toBe('/_outpost/ws');
    expect(CloseCodes.unauthorized).toBe(4001);
    expect(CloseCodes.protocolMismatch).toBe(4002);
    expect(CloseCodes.badMessage).toBe(4000);
  });
});

describe('hello', () => {
  it('parses a valid hello, with and without advertise', () => {
    expect(HelloSchema.parse(hello)).toEqual(hello);
    expect(ReplicaMessageSchema.parse(hello)).toEqual(hello);
    const advertised = { ...hello, advertise: 'london.example.com:7080' };
    expect(ReplicaMessageSchema.parse(advertised)).toEqual(advertised);
    expect(ReplicaMessageSchema.parse({ ...hello, version: 0 })).toMatchObject({ version: 0 });
  });

  it('drops fields it does not know', () => {
    expect(HelloSchema.parse({ ...hello, admin: true })).not.toHaveProperty('admin');
    expect(HelloSchema.safeParse({ ...hello, advertise: '<script>:80' }).success).toBe(false);
  });

  it.each([
    ['missing name', { ...hello, name: undefined }],
    ['missing root', { ...hello, root: undefined }],
    ['version as a string', { ...hello, version: '12' }],
    ['negative version', { ...hello, version: -1 }],
    ['fractional version', { ...hello, version: 1.5 }],
    ['protocol as a string', { ...hello, protocol: '1' }],
    ['protocol out of range', { ...hello, protocol: 1001 }],
    ['uppercase root', { ...hello, root: ROOT.toUpperCase() }],
    ['short root', { ...hello, root: ROOT.slice(1) }],
    ['non-hex root', { ...hello, root: SHA('g') }],
    ['uppercase name', { ...hello, name: 'UK-London' }],
    ['underscore in name', { ...hello, name: 'uk_london' }],
    ['uppercase region', { ...hello, region: 'UK' }],
    ['underscore in region', { ...hello, region: 'north_america' }],
    ['name with a dot', { ...hello, name: 'uk.london' }],
    ['name too long', { ...hello, name: 'a'.repeat(64) }],
    ['advertise too long', { ...hello, advertise: 'a'.repeat(301) }],
    ['advertise not a string', { ...hello, advertise: 7080 }],
  ])('refuses %s', (_name, message) => {
    expect(HelloSchema.safeParse(message).success).toBe(false);
    expect(ReplicaMessageSchema.safeParse(message).success).toBe(false);
  });
});

describe('publish', () => {
  it('parses a valid publish with a put and a delete', () => {
    const parsed = PublishSchema.parse(publish);
    expect(parsed).toEqual(publish);
    expect(MasterMessageSchema.parse(publish)).toEqual(publish);
  });

  it('parses a full manifest of an empty file without chunks or data', () => {
    const emptyFile = {
      op: 'put',
      path: 'empty',
      size: 0,
      hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      mtime: 0,
      chunks: [],
    };
    const message = { ...publish, from: 0, full: true, changes: [emptyFile] };
    expect(PublishSchema.parse(message)).toEqual(message);
  });

  it('parses a publish with no changes', () => {
    expect(PublishSchema.parse({ ...publish, changes: [] }).changes).toEqual([]);
  });

  const withPut = (over: Record<string, unknown>) => ({ ...publish, changes: [{ ...put, ...over }] });

  it.each([
    ['path traversal in a put', withPut({ path: '../../etc/passwd' })],
    ['inner traversal in a put', withPut({ path: 'docs/../../secret' })],
    ['absolute put path', withPut({ path: '/etc/passwd' })],
    ['drive letter in a put path', withPut({ path: 'C:/Windows/system.ini' })],
    ['backslash in a put path', withPut({ path: '..\\secret' })],
    ['reserved put path', withPut({ path: '_outpost/api/v1/status' })],
    ['NUL in a put path', withPut({ path: 'a\u0000.txt' })],
    ['empty put path', withPut({ path: '' })],
    ['traversal in a delete', { ...publish, changes: [{ op: 'delete', path: '../x' }] }],
    ['bad file hash', withPut({ hash: 'not-a-sha' })],
    ['uppercase file hash', withPut({ hash: SHA('B') })],
    ['bad chunk hash', withPut({ chunks: [{ hash: SHA('x'), size: 5 }] })],
    ['empty chunk', withPut({ chunks: [{ hash: SHA('c'), size: 0 }] })],
    ['oversized chunk', withPut({ chunks: [{ hash: SHA('c'), size: LIMITS.maxChunkBytes + 1 }] })],
    ['negative size', withPut({ size: -1 })],
    ['size as a string', withPut({ size: '5' })],
    ['fractional mtime', withPut({ mtime: 1.5 })],
    ['data that is not base64', withPut({ data: 'not base64!' })],
    ['inline data too large', withPut({ data: Buffer.alloc(LIMITS.inlineFileBytes * 2).toString('base64') })],
    ['unknown op', { ...publish, changes: [{ op: 'move', path: 'a' }] }],
    ['bad root', { ...publish, root: 'abc' }],
    ['missing from', { ...publish, from: undefined }],
    ['string version', { ...publish, version: '13' }],
    ['changes not an array', { ...publish, changes: {} }],
  ])('refuses %s', (_name, message) => {
    expect(PublishSchema.safeParse(message).success).toBe(false);
    expect(MasterMessageSchema.safeParse(message).success).toBe(false);
  });

  it('accepts inline data up to the inline file limit', () => {
    const data = Buffer.alloc(LIMITS.inlineFileBytes, 7).toString('base64');
    expect(PublishSchema.safeParse(withPut({ data })).success).toBe(true);
  });

  it('says where a bad path is', () => {
    const result = PublishSchema.safeParse(withPut({ path: '../x' }));
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['changes', 0, 'path']);
    expect(result.error!.issues[0]!.message).toMatch(/bad path: dot segment/);
  });

  it('is not something a replica may send', () => {
    expect(ReplicaMessageSchema.safeParse(publish).success).toBe(false);
  });
});

describe('prefetch', () => {
  const ref = { hash: SHA('c'), size: 65536 };
  it('parses chunks told ahead of a version, from the master only', () => {
    const m = { type: 'prefetch', version: 13, chunks: [ref] };
    expect(MasterMessageSchema.parse(m)).toEqual(m);
    expect(ReplicaMessageSchema.safeParse(m).success).toBe(false);
  });

  it('refuses an empty list, a list past the limit, and a malformed chunk', () => {
    const bad = [
      { chunks: [] },
      { chunks: Array.from({ length: LIMITS.maxPrefetchChunks + 1 }, () => ref) },
      { chunks: [{ hash: 'x', size: 1 }] },
      { chunks: [{ ...ref, size: -1 }] },
    ];
    for (const b of bad)
      expect(PrefetchSchema.safeParse({ type: 'prefetch', version: 2, ...b }).success).toBe(false);
    expect(
      PrefetchSchema.safeParse({
        type: 'prefetch',
        version: 2,
        chunks: Array.from({ length: LIMITS.maxPrefetchChunks }, () => ref),
      }).success,
    ).toBe(true);
  });

  it('is asked for by a feature in the hello, which bounds the list', () => {
    expect(HelloSchema.parse({ ...hello, features: [PREFETCH_FEATURE, 'later'] }).features).toEqual([
      'prefetch',
      'later',
    ]);
    expect(HelloSchema.safeParse({ ...hello, features: Array(17).fill('x') }).success).toBe(false);
    expect(HelloSchema.safeParse({ ...hello, features: ['x'.repeat(33)] }).success).toBe(false);
  });
});

describe('ack and nack', () => {
  it('parses valid ack and nack', () => {
    const ack = { type: 'ack', version: 13, root: ROOT };
    expect(AckSchema.parse(ack)).toEqual(ack);
    expect(ReplicaMessageSchema.parse(ack)).toEqual(ack);
    const nack = { type: 'nack', version: 13, reason: 'chunk ' + SHA('c') + ' failed verification' };
    expect(NackSchema.parse(nack)).toEqual(nack);
    expect(ReplicaMessageSchema.parse(nack)).toEqual(nack);
  });

  it('accepts a reason up to the limit and refuses a longer or empty one', () => {
    const at = (n: number) => ({ type: 'nack', version: 1, reason: 'x'.repeat(n) });
    expect(LIMITS.maxReasonLength).toBe(2000);
    expect(ReplicaMessageSchema.safeParse(at(2000)).success).toBe(true);
    expect(ReplicaMessageSchema.safeParse(at(2001)).success).toBe(false);
    expect(ReplicaMessageSchema.safeParse(at(100_000)).success).toBe(false);
    expect(ReplicaMessageSchema.safeParse(at(0)).success).toBe(false);
  });

  it.each([
    ['ack without root', { type: 'ack', version: 1 }],
    ['ack with bad root', { type: 'ack', version: 1, root: SHA('A') }],
    ['ack with negative version', { type: 'ack', version: -3, root: ROOT }],
    ['nack without reason', { type: 'nack', version: 1 }],
    ['nack with non-string reason', { type: 'nack', version: 1, reason: 42 }],
    ['nack with string version', { type: 'nack', version: '1', reason: 'x' }],
  ])('refuses %s', (_name, message) => {
    expect(ReplicaMessageSchema.safeParse(message).success).toBe(false);
  });
});

describe('ping', () => {
  it('parses a ping with and without load', () => {
    expect(PingSchema.parse({ type: 'ping' })).toEqual({ type: 'ping' });
    const loaded = { type: 'ping', load: { requestsPerSecond: 12.5, openConnections: 3 } };
    expect(ReplicaMessageSchema.parse(loaded)).toEqual(loaded);
  });

  it.each([
    ['negative requests', { requestsPerSecond: -1, openConnections: 0 }],
    ['fractional connections', { requestsPerSecond: 0, openConnections: 1.5 }],
    ['huge requests', { requestsPerSecond: 1e10, openConnections: 0 }],
    ['missing connections', { requestsPerSecond: 1 }],
    ['string load', '{"requestsPerSecond":1}'],
  ])('refuses a load with %s', (_name, load) => {
    expect(ReplicaMessageSchema.safeParse({ type: 'ping', load }).success).toBe(false);
  });

  it("carries a replica's own fault, bounded like a NACK's reason", () => {
    const faulty = { type: 'ping', fault: 'the store is damaged (database disk image is malformed)' };
    expect(ReplicaMessageSchema.parse(faulty)).toEqual(faulty);
    expect(ReplicaMessageSchema.safeParse({ type: 'ping', fault: '' }).success).toBe(false);
    expect(ReplicaMessageSchema.safeParse({ type: 'ping', fault: 'x'.repeat(2001) }).success).toBe(false);
  });
});

describe('message dispatch', () => {
  it.each([
    ['no type', { version: 1, root: ROOT }],
    ['unknown type', { type: 'shutdown' }],
    ['a master message', { type: 'welcome', protocol: 1, version: 1, root: ROOT }],
    ['not an object', 'hello'],
    ['null', null],
    ['an array', [hello]],
  ])('refuses %s from a replica', (_name, message) => {
    expect(ReplicaMessageSchema.safeParse(message).success).toBe(false);
  });

  it('parses welcome and pong from the master, and refuses replica messages', () => {
    const welcome = { type: 'welcome', protocol: 1, version: 4, root: ROOT };
    const pong = { type: 'pong', version: 4, root: ROOT };
    expect(MasterMessageSchema.parse(welcome)).toEqual(welcome);
    expect(MasterMessageSchema.parse(pong)).toEqual(pong);
    expect(MasterMessageSchema.safeParse(hello).success).toBe(false);
    expect(MasterMessageSchema.safeParse({ type: 'pong' }).success).toBe(false);
  });
});
