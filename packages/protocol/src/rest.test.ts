import { describe, expect, it } from 'vitest';
import { issueText } from './issue-text.js';
import {
  API_PREFIX,
  ChunkParamsSchema,
  FleetReplicaSchema,
  ManifestQuerySchema,
  MasterStatusSchema,
  ProblemSchema,
  ReplicaStatusSchema,
  VersionListSchema,
  VersionParamsSchema,
} from './rest.js';

const ROOT = 'f'.repeat(64);

const fleetReplica = {
  name: 'uk-london',
  region: 'uk',
  connected: true,
  link: 'push',
  version: 4,
  root: ROOT,
  lagVersions: 0,
  lastSeenAt: '2025-01-02T03:04:05.000Z',
  state: 'in-sync',
  error: null,
  advertise: 'london.example.com:7080',
};

describe('REST schemas', () => {
  it('uses the versioned API prefix', () => {
    expect(API_PREFIX).toBe('/_outpost/api/v1');
  });

  it('parses a problem body', () => {
    const problem = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'no chunk' };
    expect(ProblemSchema.parse(problem)).toEqual(problem);
    expect(ProblemSchema.safeParse({ type: 'x', title: 'y', status: '404' }).success).toBe(false);
  });

  it('parses master and replica status', () => {
    const master = {
      role: 'master',
      version: 4,
      root: ROOT,
      files: 10,
      bytes: 1234,
      replicas: [fleetReplica],
    };
    expect(MasterStatusSchema.parse(master)).toEqual(master);
    const status = {
      role: 'replica',
      name: 'uk-london',
      region: 'uk',
      version: 4,
      root: ROOT,
      masterVersion: null,
      state: 'offline',
      link: 'offline',
      lastSyncAt: null,
      error: null,
      files: 0,
      bytes: 0,
    };
    expect(ReplicaStatusSchema.parse(status)).toEqual(status);
    expect(ReplicaStatusSchema.safeParse({ ...status, role: 'master' }).success).toBe(false);
  });

  it.each([
    ['an unknown state', { state: 'happy' }],
    ['an unknown link', { link: 'carrier-pigeon' }],
    ['a negative lag', { lagVersions: -1 }],
    ['a time that is not ISO', { lastSeenAt: 'yesterday' }],
    ['an uppercase name', { name: 'UK' }],
  ])('refuses a fleet replica with %s', (_name, over) => {
    expect(FleetReplicaSchema.safeParse({ ...fleetReplica, ...over }).success).toBe(false);
  });

  it('parses a version list', () => {
    const list = [{ version: 2, root: ROOT, createdAt: '2025-01-02T03:04:05Z', files: 1, bytes: 2 }];
    expect(VersionListSchema.parse(list)).toEqual(list);
    expect(VersionListSchema.safeParse([{ ...list[0], createdAt: 1_700_000_000_000 }]).success).toBe(false);
  });

  it('reads the manifest query from strings, defaulting from to 0', () => {
    expect(ManifestQuerySchema.parse({})).toEqual({ from: 0 });
    expect(ManifestQuerySchema.parse({ from: '17', root: ROOT, name: 'uk-london', region: 'uk' })).toEqual({
      from: 17,
      root: ROOT,
      name: 'uk-london',
      region: 'uk',
    });
    expect(ManifestQuerySchema.parse({ from: '1', advertise: '10.0.0.1:8080' })).toEqual({
      from: 1,
      advertise: '10.0.0.1:8080',
    });
  });

  it('refuses an address a replica could not advertise by its flag either', () => {
    for (const advertise of ['<script>:80', 'a b', '10.0.0.1:99999', ''])
      expect(ManifestQuerySchema.safeParse({ advertise }).success, advertise).toBe(false);
  });

  it.each([
    ['a non-number from', { from: 'abc' }],
    ['a negative from', { from: '-1' }],
    ['a fractional from', { from: '1.5' }],
    ['an infinite from', { from: 'Infinity' }],
    ['a bad root', { from: '1', root: 'xyz' }],
    ['a bad name', { from: '1', name: 'Bad_Name' }],
    ['an oversized advertise', { from: '1', advertise: 'a'.repeat(301) }],
  ])('refuses a manifest query with %s', (_name, query) => {
    expect(ManifestQuerySchema.safeParse(query).success).toBe(false);
  });

  it('takes from, to and part in decimal digits only, naming the parameter it refuses', () => {
    expect(ManifestQuerySchema.parse({ from: '07', to: '9', part: '0' })).toEqual({
      from: 7,
      to: 9,
      part: 0,
    });
    for (const key of ['from', 'to', 'part'])
      for (const v of ['1e3', '0x10', ' 7', '7 ', '7.0', '-0', '+1', '', '9007199254740993', ['1', '2']]) {
        const r = ManifestQuerySchema.safeParse({ [key]: v });
        expect(r.success, `${key}=${String(v)}`).toBe(false);
        if (!r.success)
          expect(issueText(r.error, 'query parameter')).toMatch(`query parameter ${key}: expected`);
      }
    expect(ManifestQuerySchema.safeParse({ part: '10001' }).success).toBe(false);
  });

  it('checks chunk and version path parameters', () => {
    expect(ChunkParamsSchema.parse({ hash: ROOT })).toEqual({ hash: ROOT });
    expect(ChunkParamsSchema.safeParse({ hash: '../../etc/passwd' }).success).toBe(false);
    expect(ChunkParamsSchema.safeParse({ hash: ROOT.toUpperCase() }).success).toBe(false);
    expect(VersionParamsSchema.parse({ n: '3' })).toEqual({ n: 3 });
    expect(VersionParamsSchema.safeParse({ n: 'latest' }).success).toBe(false);
    expect(VersionParamsSchema.safeParse({ n: '-2' }).success).toBe(false);
    // Decimal digits only: not version 1 in another notation, nor nothing as version 0.
    for (const n of ['0x1', '1e0', '1.0', ' 1', '1 ', '+1', '', '9007199254740993'])
      expect(VersionParamsSchema.safeParse({ n }).success, n).toBe(false);
    expect(VersionParamsSchema.parse({ n: '0' })).toEqual({ n: 0 });
  });
});
