import { describe, expect, it } from 'vitest';
import { judge } from './eligibility.js';
import { facts, NOW, ROOT, replica } from './fixtures.js';

const rules = { heartbeatMs: 1000, maxLag: 0 };
const one = (r: ReturnType<typeof replica>, f: Partial<Parameters<typeof facts>[1]> = {}, o = rules) =>
  judge(facts([r], f), o)[0]!;

describe('judge', () => {
  it('answers a replica that is connected, heard from lately and holds the latest version', () => {
    const j = one(replica('uk-london', 'uk', '10.0.0.1:8080'));
    expect(j).toMatchObject({ in: true, address: '10.0.0.1', family: 4 });
    expect(j.reason).toMatch(/holds the latest version 7, heard 0\.1 s ago/);
  });

  it('answers IPv6 addresses as family 6', () => {
    expect(one(replica('a', 'uk', '[2001:db8::5]:80'))).toMatchObject({
      in: true,
      address: '2001:db8::5',
      family: 6,
    });
  });

  it.each([
    ['no advertised address', { advertise: null }, /advertises none/],
    ['a host name', { advertise: 'proxy.uk.example:80' }, /host name; DNS answers need an IP/],
    ['an invalid address', { advertise: '1.2.3.4:99999' }, /invalid/],
    [
      'a scoped IPv6 address (dns-packet would encode another one)',
      { advertise: '[fe80::1%eth0]:80' },
      /invalid: 'fe80::1%eth0' is scoped/,
    ],
    ['the unspecified address', { advertise: '0.0.0.0:80' }, /invalid: '0\.0\.0\.0' is a wildcard/],
    ['disconnected', { connected: false, link: 'offline' as const }, /disconnected 0\.1 s ago/],
    [
      'silent for over two heartbeats',
      { lastSeenAt: NOW - 2001 },
      /silent for 2\.0 s \(over two heartbeats, 2\.0 s\)/,
    ],
    ['never heard from', { lastSeenAt: null }, /never heard from/],
    ['holding no version', { version: 0 }, /not ready/],
    ['failing its last version', { error: 'version 8 refused: disk full' }, /error: version 8 refused/],
    ['holding another root', { root: 'b'.repeat(64) }, /holds root bbbbbbbbbbbb/],
    ['behind for longer than a heartbeat', { version: 5 }, /behind: holds version 5, latest 7 \(lag 2 > 0\)/],
  ])('leaves out a replica %s', (_what, o, reason) => {
    const j = one(replica('uk-london', 'uk', '10.0.0.1', o));
    expect(j.in).toBe(false);
    expect(j.reason).toMatch(reason);
  });

  it('lists every reason a replica is out', () => {
    const j = one(replica('a', 'uk', null, { connected: false, link: 'offline', version: 3 }));
    expect(j.reason.split('; ')).toHaveLength(3);
  });

  it('keeps a replica that pulls over HTTP while its push link is down', () => {
    expect(one(replica('a', 'uk', '10.0.0.1', { connected: false, link: 'pull' })).in).toBe(true);
  });

  it('keeps a replica for one heartbeat while it applies a new version, then drops it', () => {
    const r = replica('a', 'uk', '10.0.0.1', { version: 6 });
    const published = (at: number) => ({ createdAt: (v: number) => (v === 7 ? at : NOW - 60_000) });
    const applying = one(r, published(NOW - 400));
    expect(applying.in).toBe(true);
    expect(applying.reason).toMatch(/applying: holds version 6, latest 7/);
    expect(one(r, published(NOW - 1001)).in).toBe(false);
  });

  it('answers replicas within --dns-max-lag versions', () => {
    const r = replica('a', 'uk', '10.0.0.1', { version: 5 });
    expect(one(r, {}, { heartbeatMs: 1000, maxLag: 2 })).toMatchObject({ in: true });
    expect(one(r, {}, { heartbeatMs: 1000, maxLag: 1 })).toMatchObject({ in: false });
  });

  it('answers an empty master with replicas holding version 0', () => {
    const r = replica('a', 'uk', '10.0.0.1', { version: 0, root: ROOT });
    expect(one(r, { latest: { version: 0, root: ROOT } }).in).toBe(true);
  });
});
