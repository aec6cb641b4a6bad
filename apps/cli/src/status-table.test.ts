import { createHash } from 'node:crypto';
import { type FleetReplica, type MasterStatus, MasterStatusSchema } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { renderDns, renderStatus, UNHEALTHY } from './status-table.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const ROOT = createHash('sha256').update('root of version 12').digest('hex');

const replica = (r: Partial<FleetReplica> & Pick<FleetReplica, 'name' | 'region'>): FleetReplica => ({
  connected: false,
  link: 'offline',
  version: 12,
  root: ROOT,
  lagVersions: 0,
  lastSeenAt: null,
  state: 'in-sync',
  error: null,
  advertise: null,
  ...r,
});

const status = (replicas: FleetReplica[]): MasterStatus =>
  MasterStatusSchema.parse({ role: 'master', version: 12, root: ROOT, files: 3, bytes: 1024, replicas });

const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('renderStatus', () => {
  it('says so when no replica has connected', () => {
    expect(renderStatus(status([]), NOW)).toBe(
      `master: version 12  root ${ROOT.slice(0, 12)}  files 3  bytes 1024\n(no replica has connected yet)`,
    );
  });

  it('says when the master is still starting, and how far its publish has got', () => {
    const starting = MasterStatusSchema.parse({
      ...status([]),
      ready: false,
      publishing: { filesDone: 40_000, filesTotal: 100_000, since: ago(7_000) },
    });
    expect(renderStatus(starting, NOW)).toBe(
      `master: version 12  root ${ROOT.slice(0, 12)}  files 3  bytes 1024  (starting: reconciling the content directory)\n` +
        'publishing: 40000 of 100000 files examined, for 7s\n(no replica has connected yet)',
    );
    // A ready master with nothing in progress looks as before.
    const ready = MasterStatusSchema.parse({ ...status([]), ready: true, watching: true, publishing: null });
    expect(renderStatus(ready, NOW)).toBe(renderStatus(status([]), NOW));
  });

  it('says when a ready master has not yet put its watches in place', () => {
    const crawling = MasterStatusSchema.parse({ ...status([]), ready: true, watching: false });
    expect(renderStatus(crawling, NOW).split('\n')[0]).toBe(
      `master: version 12  root ${ROOT.slice(0, 12)}  files 3  bytes 1024  (putting watches in place: an edit now is published once they are)`,
    );
    // Still starting: that is what it says.
    const starting = MasterStatusSchema.parse({ ...status([]), ready: false, watching: false });
    expect(renderStatus(starting, NOW)).not.toContain('watches');
  });

  it('says when publishing fails, why, and when it is tried again', () => {
    const failing = MasterStatusSchema.parse({
      ...status([]),
      publishFailure: {
        message: 'storing a batch failed: database or disk is full',
        at: ago(90_000),
        retryAt: new Date(NOW + 30_000).toISOString(),
      },
    });
    expect(renderStatus(failing, NOW)).toBe(
      `master: version 12  root ${ROOT.slice(0, 12)}  files 3  bytes 1024\n` +
        'publish FAILING: storing a batch failed: database or disk is full (1m ago; next attempt in 30s)\n' +
        '(no replica has connected yet)',
    );
  });

  it('prints what status warns of, one line each', () => {
    const warned = MasterStatusSchema.parse({
      ...status([]),
      warnings: ["104 directories are not watched: the system's limit on watches was reached"],
    });
    expect(renderStatus(warned, NOW)).toBe(
      `master: version 12  root ${ROOT.slice(0, 12)}  files 3  bytes 1024\n` +
        "WARNING: 104 directories are not watched: the system's limit on watches was reached\n" +
        '(no replica has connected yet)',
    );
  });

  it('names the --exclude patterns, quoted, when there are any', () => {
    const excluding = MasterStatusSchema.parse({ ...status([]), exclude: ['.git', 'my drafts/'] });
    expect(renderStatus(excluding, NOW).split('\n')[1]).toBe('left out (--exclude): ".git" "my drafts/"');
    const none = MasterStatusSchema.parse({ ...status([]), exclude: [] });
    expect(renderStatus(none, NOW)).not.toContain('left out');
  });

  it('lists the paths the master does not publish, and why, quoted, ten at most', () => {
    const problems = [
      { path: 'new\nline.txt', problem: 'control character' },
      { path: 'caf\uFFFD.txt', problem: 'name is not valid UTF-8' },
      ...Array.from({ length: 10 }, (_, i) => ({
        path: `pipe-${i}`,
        problem: 'not a regular file: a named pipe',
      })),
    ];
    const withProblems = MasterStatusSchema.parse({ ...status([]), problems });
    const lines = renderStatus(withProblems, NOW).split('\n');
    expect(lines.slice(1, 4)).toEqual([
      'not published: 12 paths',
      '  "new\\nline.txt": control character',
      '  "caf\uFFFD.txt": name is not valid UTF-8',
    ]);
    expect(lines.slice(11)).toEqual([
      '  "pipe-7": not a regular file: a named pipe',
      '  … and 2 more (--json lists them all)',
      '(no replica has connected yet)',
    ]);
    const one = MasterStatusSchema.parse({ ...status([]), problems: problems.slice(0, 1) });
    expect(renderStatus(one, NOW).split('\n')[1]).toBe('not published: 1 path');
  });

  it('renders one aligned row per replica', () => {
    const out = renderStatus(
      status([
        replica({
          name: 'asia-tokyo',
          region: 'asia',
          state: 'behind',
          link: 'pull',
          version: 9,
          lagVersions: 3,
          lastSeenAt: ago(125_000),
        }),
        replica({ name: 'uk-london', region: 'uk', connected: true, link: 'push', lastSeenAt: ago(5_000) }),
        replica({
          name: 'us-ohio',
          region: 'us',
          state: 'error',
          version: 11,
          lagVersions: 1,
          error: 'version 12 refused: disk full',
        }),
      ]),
      NOW,
    );
    expect(out.split('\n')).toEqual([
      `master: version 12  root ${ROOT.slice(0, 12)}  files 3  bytes 1024`,
      'NAME        REGION  STATE    LINK     VERSION  LAG  LAST SEEN  ERROR',
      'asia-tokyo  asia    behind   pull     9        3    2m ago',
      'uk-london   uk      in-sync  push     12       0    5s ago',
      'us-ohio     us      error    offline  11       1    never      version 12 refused: disk full',
    ]);
  });

  it('says how long ago each replica was seen', () => {
    const lastSeen = (ms: number) => {
      const row = renderStatus(status([replica({ name: 'r', region: 'uk', lastSeenAt: ago(ms) })]), NOW)
        .split('\n')
        .at(-1)!;
      return row.split(/ {2,}/).at(-1);
    };
    expect(lastSeen(0)).toBe('0s ago');
    expect(lastSeen(1_400)).toBe('1s ago');
    expect(lastSeen(59_000)).toBe('59s ago');
    expect(lastSeen(60_000)).toBe('1m ago');
    expect(lastSeen(150_000)).toBe('2m ago');
    expect(lastSeen(3_599_000)).toBe('59m ago');
    expect(lastSeen(45 * 60_000)).toBe('45m ago');
    expect(lastSeen(3_600_000)).toBe('1h ago');
    expect(lastSeen(26 * 3_600_000)).toBe('26h ago');
    // A clock a little ahead of ours is not "in the future".
    expect(lastSeen(-5_000)).toBe('0s ago');
  });

  it('uses the current time by default', () => {
    const out = renderStatus(
      status([replica({ name: 'r', region: 'uk', lastSeenAt: new Date().toISOString() })]),
    );
    expect(out.split('\n').at(-1)).toMatch(/ {2}[01]s ago$/);
  });
});

describe('UNHEALTHY', () => {
  it('holds exactly the states that fail `outpost status`', () => {
    expect([...UNHEALTHY].sort()).toEqual(['behind', 'error', 'offline']);
    expect(UNHEALTHY.has('in-sync')).toBe(false);
    expect(UNHEALTHY.has('syncing')).toBe(false);
  });
});

describe('renderDns', () => {
  it('shows what each name answers and why each replica is in or out', () => {
    const out = renderDns({
      zone: 'corp.example',
      ttl: 5,
      mode: 'one',
      maxLag: 0,
      fallback: { uk: ['eu'] },
      listen: { udp: '127.0.0.1:5353', tcp: '127.0.0.1:5353' },
      names: [
        {
          name: 'uk.corp.example',
          kind: 'region',
          via: 'region uk',
          answers: [
            { type: 'A', address: '10.0.0.1', replica: 'uk-london', share: 0.6 },
            { type: 'A', address: '10.0.0.2', replica: 'uk-leeds', share: 0.4 },
          ],
        },
        { name: 'eu.corp.example', kind: 'region', via: 'no replica to answer with', answers: [] },
      ],
      replicas: [
        {
          name: 'uk-london',
          region: 'uk',
          address: '10.0.0.1',
          in: true,
          reason: 'holds the latest version 3',
          weight: 1.2,
          load: null,
        },
        {
          name: 'eu-paris',
          region: 'eu',
          address: null,
          in: false,
          reason: 'disconnected 3.0 s ago',
          weight: 0,
          load: null,
        },
      ],
      counters: {},
    });
    expect(out).toContain(
      'dns: zone corp.example  mode one  ttl 5s  max lag 0  on 127.0.0.1:5353 (udp, tcp)',
    );
    expect(out).toMatch(/uk\.corp\.example\s+10\.0\.0\.1 60%, 10\.0\.0\.2 40%\s+region uk/);
    expect(out).toMatch(/eu\.corp\.example\s+\(none\)\s+no replica to answer with/);
    expect(out).toMatch(/eu-paris\s+eu\s+out\s+-\s+-\s+disconnected 3\.0 s ago/);
  });

  it('shows control characters a replica sent as \\xHH: no line or terminal escape of its own', () => {
    const reason = "advertised address '\x1b[2J\nuk-fake  uk  in' is invalid";
    const out = renderDns({
      zone: 'corp.example',
      ttl: 5,
      mode: 'all',
      maxLag: 0,
      fallback: {},
      listen: { udp: null, tcp: null },
      names: [],
      replicas: [{ name: 'evil', region: 'uk', address: null, in: false, reason, weight: 0, load: null }],
      counters: {},
    });
    expect(out).not.toContain('\x1b');
    expect(out.split('\n').at(-1)).toBe(
      "evil     uk      out  -        -       advertised address '\\x1b[2J\\x0auk-fake  uk  in' is invalid",
    );
  });
});
