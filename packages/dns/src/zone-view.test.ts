import { describe, expect, it } from 'vitest';
import { describeNames, describeReplicas } from './describe.js';
import { facts, replica, settings, standardView } from './fixtures.js';
import { buildZoneView, MAX_VIEW_REPLICAS } from './zone-view.js';

const addresses = (v: ReturnType<typeof standardView>, label: string) =>
  v.names.get(label)?.targets.map((t) => t.address);

describe('buildZoneView', () => {
  it('names the apex, each region, each replica and the name server', () => {
    const v = standardView();
    expect([...v.names.keys()].sort()).toEqual([
      '',
      'eu',
      'eu-paris',
      'ns',
      'uk',
      'uk-leeds',
      'uk-london',
      'us',
      'us-nyc',
    ]);
    expect(addresses(v, '')).toEqual(['10.0.2.1', '10.0.1.2', '10.0.1.1', '2001:db8::1']);
    expect(addresses(v, 'uk')).toEqual(['10.0.1.2', '10.0.1.1']);
    expect(addresses(v, 'uk-london')).toEqual(['10.0.1.1']);
    expect(addresses(v, 'ns')).toEqual(['127.0.0.1']);
  });

  it('splits each name into its IPv4 and IPv6 pools, encoded once', () => {
    const v = standardView();
    const pool = (label: string, family: 'a' | 'aaaa') =>
      v.names.get(label)![family]?.targets.map((t) => t.address);
    expect(pool('', 'a')).toEqual(['10.0.2.1', '10.0.1.2', '10.0.1.1']);
    expect(pool('', 'aaaa')).toEqual(['2001:db8::1']);
    expect(pool('uk', 'aaaa')).toBeUndefined();
    expect(v.names.get('uk')!.a!.bodies).toHaveLength(2);
  });

  it("answers A for a region of IPv6 replicas from a fallback's IPv4 ones, and AAAA from its own", () => {
    // us holds one IPv6 replica: an A query (every IPv4-only client's) had answered nothing.
    const pool = (v: ReturnType<typeof standardView>, label: string, family: 'a' | 'aaaa') =>
      v.names.get(label)![family]?.targets.map((t) => t.address);
    const every = standardView();
    expect(pool(every, 'us', 'a')).toEqual(['10.0.2.1', '10.0.1.2', '10.0.1.1']);
    expect(pool(every, 'us', 'aaaa')).toEqual(['2001:db8::1']);
    expect(every.names.get('us')!.via).toBe(
      'A: fallback: us has no IPv4 replica to answer with; answering every region; AAAA: region us',
    );
    const toEu = standardView({ fallback: { us: ['uk', 'eu'] } });
    expect(pool(toEu, 'us', 'a')).toEqual(['10.0.1.2', '10.0.1.1']);
    expect(toEu.names.get('us')!.via).toBe(
      'A: fallback: region us has no IPv4 replica to answer with; answering uk; AAAA: region us',
    );
    // A replica's own name keeps to its own family: us-nyc has no A record.
    expect(pool(toEu, 'us-nyc', 'a')).toBeUndefined();
    // AAAA does not fall back: a dual-stack reader of uk keeps to uk's IPv4 replicas.
    expect(pool(toEu, 'uk', 'aaaa')).toBeUndefined();
  });

  it('says of a replica named like a region, or ns, that it has no name of its own', () => {
    const v = standardView({}, [replica('eu', 'us', '10.0.3.1'), replica('ns', 'us', '10.0.3.2')]);
    const reason = (name: string) => describeReplicas(v).find((r) => r.name === name)!.reason;
    expect(reason('eu')).toMatch(/; no name of its own: eu\.corp\.example answers region eu$/);
    expect(reason('ns')).toMatch(/; no name of its own: ns\.corp\.example is the name server's$/);
    expect(reason('uk-london')).not.toContain('no name of its own');
    expect(v.names.get('eu')!.kind).toBe('region');
  });

  it('keeps the pools of names that did not change when rebuilt from the view before', () => {
    const v = standardView();
    const again = buildZoneView(settings(), { ...facts([]), replicas: [] }, v);
    expect(again.names.get('')!.a).toBeNull();
    const f = facts([
      replica('a', 'uk', '10.0.0.1'),
      replica('b', 'uk', '10.0.0.2'),
      replica('c', 'eu', '10.0.0.3'),
    ]);
    const one = buildZoneView(settings(), f);
    const two = buildZoneView(settings(), { ...f, now: f.now + 10 }, one);
    expect(two.names.get('uk')!.a).toBe(one.names.get('uk')!.a);
    const busier = f.replicas.map((r) =>
      r.name === 'c' ? { ...r, load: { requestsPerSecond: 50, openConnections: 0 } } : r,
    );
    const three = buildZoneView(settings(), { ...f, replicas: busier }, two);
    expect(three.names.get('uk')!.a).toBe(two.names.get('uk')!.a);
    expect(three.names.get('')!.a).not.toBe(two.names.get('')!.a);
  });

  it('falls back along the configured order when a region has nobody left', () => {
    const down = { connected: false, link: 'offline' as const };
    const f = facts([
      replica('uk-london', 'uk', '10.0.1.1', down),
      replica('eu-paris', 'eu', '10.0.2.1', down),
      replica('us-nyc', 'us', '10.0.3.1'),
      replica('asia-tokyo', 'asia', '10.0.4.1'),
    ]);
    const v = buildZoneView(settings({ fallback: { uk: ['eu', 'us', 'asia'] } }), f);
    expect(addresses(v, 'uk')).toEqual(['10.0.3.1']);
    expect(v.names.get('uk')!.via).toBe('fallback: region uk has no replica to answer with; answering us');
    // No order for eu: every eligible replica rather than nothing.
    expect(addresses(v, 'eu')!.sort()).toEqual(['10.0.3.1', '10.0.4.1']);
    expect(v.names.get('eu')!.via).toMatch(/answering every region/);
    // A replica that is out answers as its region does.
    expect(addresses(v, 'uk-london')).toEqual(['10.0.3.1']);
    expect(v.names.get('uk-london')!.via).toMatch(/^uk-london is out; answering its region uk/);
  });

  it('uses the * fallback for regions without their own order, and names regions only configured', () => {
    const f = facts([replica('us-nyc', 'us', '10.0.3.1'), replica('asia-tokyo', 'asia', '10.0.4.1')]);
    const v = buildZoneView(settings({ fallback: { '*': ['asia'], eu: ['us'] } }), f);
    expect(addresses(v, 'eu')).toEqual(['10.0.3.1']);
    expect(v.names.has('*')).toBe(false);
  });

  it('answers nothing when no replica is eligible anywhere', () => {
    const v = buildZoneView(settings(), facts([replica('a', 'uk', '10.0.0.1', { version: 0 })]));
    expect(v.names.get('uk')!.targets).toEqual([]);
    expect(v.names.get('')!.via).toBe('no replica to answer with');
  });

  it('weights replicas by load, and the REST description gives their shares', () => {
    const busy = { load: { requestsPerSecond: 40, openConnections: 20 } };
    const calm = { load: { requestsPerSecond: 10, openConnections: 10 } };
    const v = buildZoneView(
      settings(),
      facts([
        replica('a', 'uk', '10.0.0.1', calm),
        replica('b', 'uk', '10.0.0.2', calm),
        replica('c', 'uk', '10.0.0.3', busy),
      ]),
    );
    const uk = describeNames(v).find((n) => n.name === 'uk.corp.example')!;
    const share = Object.fromEntries(uk.answers.map((a) => [a.replica, a.share]));
    expect(share.a).toBe(share.b);
    expect(share.c).toBeLessThan(0.25);
    const reps = describeReplicas(v);
    expect(reps.map((r) => r.in)).toEqual([true, true, true]);
    expect(reps.find((r) => r.name === 'c')!.weight).toBeLessThan(reps.find((r) => r.name === 'a')!.weight);
  });

  it('refuses a fleet past MAX_VIEW_REPLICAS with an error that says so', () => {
    const fleet = (n: number) => facts(Array.from({ length: n }, (_, i) => replica(`r-${i}`, 'uk', null)));
    expect(() => buildZoneView(settings(), fleet(MAX_VIEW_REPLICAS + 1))).toThrow(
      /takes at most 50000 replicas; the master knows 50001/,
    );
    expect(buildZoneView(settings(), fleet(MAX_VIEW_REPLICAS)).judged).toHaveLength(MAX_VIEW_REPLICAS);
  });

  it('answers an address shared by two replicas once', () => {
    const v = buildZoneView(
      settings(),
      facts([
        replica('a', 'uk', '10.0.0.1:80'),
        replica('b', 'uk', '10.0.0.1:81'),
        replica('c', 'uk', '10.0.0.2'),
      ]),
    );
    expect(addresses(v, 'uk')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(v.names.get('uk')!.targets[0]!.weight).toBe(2);
    // Each replica still shows its own weight (status, GET /dns): neither 0 nor its twin's too.
    expect(describeReplicas(v).map((r) => [r.name, r.in, r.weight])).toEqual([
      ['a', true, 1],
      ['b', true, 1],
      ['c', true, 1],
    ]);
  });
});
