import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_ROOT, sha256Hex } from '@outpost/core';
import { type FleetReplica, FleetReplicaSchema } from '@outpost/protocol';
import { openStore, prune, type Store } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Fleet } from './fleet.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const OFFLINE = 15_000;
const BEHIND = 30_000;
const ROOT = (v: number) => sha256Hex(`root ${v}`);

let dir: string;
let store: Store;
let fleet: Fleet;

/** Versions 1..10 were created one minute apart, version 10 at T0. */
const createdAt = (v: number) => (v >= 1 && v <= 10 ? T0 - (10 - v) * 60_000 : undefined);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  dir = mkdtempSync(join(tmpdir(), 'outpost-fleet-'));
  store = openStore(join(dir, 'master.db'));
  fleet = new Fleet({ store, offlineAfterMs: OFFLINE, behindAfterMs: BEHIND });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
  vi.useRealTimers();
});

function status(latest: number, now = Date.now(), f = fleet, at = createdAt): FleetReplica[] {
  const list = f.status({ version: latest, root: ROOT(latest) }, at, now);
  for (const r of list) expect(FleetReplicaSchema.safeParse(r).success, JSON.stringify(r)).toBe(true);
  return list;
}

function one(name: string, latest: number, now = Date.now(), f = fleet): FleetReplica {
  const r = status(latest, now, f).find((x) => x.name === name);
  expect(r, name).toBeDefined();
  return r!;
}

const hello = (name: string, version: number, extra: { region?: string; advertise?: string } = {}) => ({
  name,
  region: extra.region ?? 'uk',
  version,
  root: ROOT(version),
  ...(extra.advertise ? { advertise: extra.advertise } : {}),
});

describe('Fleet', () => {
  it('knows no replica at first', () => {
    expect(status(10)).toEqual([]);
    expect(fleet.versionOf('uk-london')).toBeUndefined();
  });

  it('shows a connected replica at the latest version as in sync over push', () => {
    fleet.connected(hello('uk-london', 10, { advertise: 'uk-london.example:7080' }));
    expect(status(10)).toEqual([
      {
        name: 'uk-london',
        region: 'uk',
        connected: true,
        link: 'push',
        version: 10,
        root: ROOT(10),
        lagVersions: 0,
        lastSeenAt: new Date(T0).toISOString(),
        state: 'in-sync',
        error: null,
        advertise: 'uk-london.example:7080',
      },
    ]);
    expect(fleet.versionOf('uk-london')).toBe(10);
    expect(store.replicas.all()).toEqual([
      {
        name: 'uk-london',
        region: 'uk',
        version: 10,
        root: ROOT(10),
        lastSeenAt: T0,
        error: null,
        advertise: 'uk-london.example:7080',
        link: 'push',
      },
    ]);
  });

  it('is syncing while the next version is young, behind once it is older than behindAfterMs', () => {
    // Back at T0; version 8 was created three minutes before: it has been waiting since T0.
    fleet.connected(hello('uk-london', 7));
    expect(one('uk-london', 10)).toMatchObject({ state: 'syncing', lagVersions: 3 });
    expect(one('uk-london', 10, T0 + BEHIND)).toMatchObject({ state: 'syncing', lagVersions: 3 });
    expect(one('uk-london', 10, T0 + BEHIND + 1)).toMatchObject({
      state: 'behind',
      connected: true,
      link: 'push',
    });

    // One version behind, published just now: syncing.
    fleet.acked('uk-london', 9, ROOT(9), ROOT(9));
    expect(one('uk-london', 10)).toMatchObject({ state: 'syncing', lagVersions: 1, version: 9 });
    expect(one('uk-london', 10, T0 + BEHIND + 1)).toMatchObject({ state: 'behind' });
  });

  it('counts a lag from when the replica came back, not from versions cut while it was away', () => {
    fleet.connected(hello('uk-london', 10));
    fleet.disconnected('uk-london');
    // Away for a day; back with versions to catch up on, cut while it was away.
    vi.setSystemTime(T0 + 86_400_000);
    fleet.connected(hello('uk-london', 7));
    expect(one('uk-london', 10)).toMatchObject({ state: 'syncing' });
    expect(one('uk-london', 10, T0 + 86_400_000 + BEHIND + 1)).toMatchObject({ state: 'behind' });
    // A link that drops and comes straight back does not start the count again.
    vi.setSystemTime(T0 + 86_400_000 + BEHIND + 1);
    fleet.disconnected('uk-london');
    vi.setSystemTime(T0 + 86_400_000 + BEHIND + 500);
    fleet.connected(hello('uk-london', 7));
    expect(one('uk-london', 10)).toMatchObject({ state: 'behind' });
  });

  it('counts the lag of a replica whose next version was collected from the first one kept', () => {
    // Versions 1..5 cut a minute apart, 5 at T0; 1..3 collected (--keep-versions 2).
    for (let v = 1; v <= 5; v++)
      store.versions.commit({
        version: v,
        root: ROOT(v),
        createdAt: T0 - (5 - v) * 60_000,
        files: 0,
        bytes: 0,
        changes: [],
      });
    prune(store, { keepFrom: 4 });
    const cutAt = (v: number) => store.versions.cutAtOrAfter(v);
    expect(cutAt(1)).toBe(T0 - 60_000);
    // A new replica, as a slow office joins: syncing at first, behind once it has lagged long.
    fleet.connected(hello('uk-leeds', 0));
    const at = (now: number) => status(5, now, fleet, cutAt).find((r) => r.name === 'uk-leeds');
    expect(at(T0 + BEHIND)).toMatchObject({ state: 'syncing', lagVersions: 5 });
    expect(at(T0 + BEHIND + 1)).toMatchObject({ state: 'behind', lagVersions: 5 });
  });

  it('is syncing when the creation time of the next version is unknown', () => {
    fleet.connected(hello('uk-london', 3));
    expect(fleet.status({ version: 10, root: ROOT(10) }, () => undefined, T0 + 10 * BEHIND)[0]).toMatchObject(
      {
        state: 'syncing',
        lagVersions: 7,
      },
    );
  });

  it('never has a negative lag; a replica ahead of the master waits for the version cut past it, unless implausibly far', () => {
    // The master's store lost and rebuilt: it cuts a version past the replica's once it has read its directory.
    fleet.connected(hello('uk-london', 12));
    expect(one('uk-london', 10)).toMatchObject({ lagVersions: 0, state: 'syncing', error: null });
    fleet.connected(hello('asia-tokyo', 11 + 2 ** 32, { region: 'asia' }));
    expect(one('asia-tokyo', 10)).toMatchObject({ lagVersions: 0, state: 'error' });
    expect(one('asia-tokyo', 10).error).toContain('implausibly far beyond');
  });

  it('records an ACK, and an error when the root is not the one published', () => {
    fleet.connected(hello('uk-london', 7));
    vi.setSystemTime(T0 + 1_000);
    fleet.acked('uk-london', 10, ROOT(10), ROOT(10));
    expect(one('uk-london', 10)).toMatchObject({
      version: 10,
      root: ROOT(10),
      state: 'in-sync',
      error: null,
      lastSeenAt: new Date(T0 + 1_000).toISOString(),
    });

    fleet.acked('uk-london', 10, ROOT(99), ROOT(10));
    const r = one('uk-london', 10);
    expect(r.state).toBe('error');
    expect(r.root).toBe(ROOT(99));
    expect(r.error).toBe(`acknowledged version 10 with root ${ROOT(99)}, expected ${ROOT(10)}`);
    expect(store.replicas.all()[0]!.error).toBe(r.error);

    // A root the master cannot check is taken as it is.
    fleet.acked('uk-london', 10, ROOT(10), undefined);
    expect(one('uk-london', 10)).toMatchObject({ state: 'in-sync', error: null });
  });

  it('records a NACK as an error until a good ACK', () => {
    fleet.connected(hello('uk-london', 9));
    vi.setSystemTime(T0 + 500);
    fleet.nacked('uk-london', 10, 'chunk abc: timeout');
    const r = one('uk-london', 10);
    expect(r).toMatchObject({
      state: 'error',
      version: 9,
      lagVersions: 1,
      error: 'version 10 refused: chunk abc: timeout',
      lastSeenAt: new Date(T0 + 500).toISOString(),
    });
    expect(store.replicas.all()[0]).toMatchObject({ error: 'version 10 refused: chunk abc: timeout' });
    // An error outranks lag: still 'error' long after.
    expect(one('uk-london', 10, T0 + OFFLINE - 1)).toMatchObject({ state: 'error' });

    fleet.acked('uk-london', 10, ROOT(10), ROOT(10));
    expect(one('uk-london', 10)).toMatchObject({ state: 'in-sync', error: null });
    expect(store.replicas.all()[0]).toMatchObject({ error: null, version: 10 });
  });

  it('shows a link the replica dropped over a message as its error, across reconnects, until a good ACK', () => {
    fleet.connected(hello('uk-london', 9));
    fleet.disconnected('uk-london', 'invalid message: Too small: expected number to be >=0');
    const why = 'dropped the push link over a message: invalid message: Too small: expected number to be >=0';
    expect(one('uk-london', 10)).toMatchObject({ error: why });
    // It reconnects, and will drop the link again at the next push: status keeps saying why.
    fleet.connected(hello('uk-london', 9));
    expect(one('uk-london', 10)).toMatchObject({ state: 'error', error: why });
    fleet.acked('uk-london', 10, ROOT(10), ROOT(10));
    expect(one('uk-london', 10)).toMatchObject({ state: 'in-sync', error: null });
    fleet.disconnected('uk-london');
    fleet.connected(hello('uk-london', 10));
    expect(one('uk-london', 10)).toMatchObject({ error: null });
  });

  it('says a link dropped as silent was last seen at its last word, not at the drop', () => {
    fleet.connected(hello('uk-london', 10));
    fleet.heartbeat('uk-london', undefined);
    const heard = Date.now();
    // Frozen (SIGSTOP): the master drops the link three heartbeats later.
    vi.setSystemTime(heard + 6_500);
    fleet.disconnected('uk-london', undefined, heard);
    expect(one('uk-london', 10).lastSeenAt).toBe(new Date(heard).toISOString());
    // A close the replica sends itself is word from it.
    fleet.connected(hello('uk-london', 10));
    vi.setSystemTime(heard + 9_000);
    fleet.disconnected('uk-london');
    expect(one('uk-london', 10).lastSeenAt).toBe(new Date(heard + 9_000).toISOString());
  });

  it('forgets a link dropped over a message once the replica comes back holding the latest version', () => {
    fleet.connected(hello('uk-london', 10));
    // One damaged message (a pong): it drops the link, and is back at once, in sync.
    fleet.disconnected('uk-london', 'invalid message: Unexpected token X in JSON');
    expect(one('uk-london', 10).error).toMatch(/^dropped the push link over a message/);
    fleet.connected({ ...hello('uk-london', 10), current: true });
    expect(one('uk-london', 10)).toMatchObject({ state: 'in-sync', error: null });
    // Back behind the latest, it is pushed to again: the error stands until that goes well.
    fleet.disconnected('uk-london', 'invalid message: x');
    fleet.connected(hello('uk-london', 9));
    expect(one('uk-london', 10)).toMatchObject({ state: 'error' });
  });

  it('shows a name two live processes use as an error, for five minutes after the last time', () => {
    fleet.connected(hello('uk-london', 10, { advertise: '10.0.0.1:7080' }));
    fleet.nameShared('uk-london', ['10.0.0.1:7080', '10.0.0.2:7080']);
    expect(one('uk-london', 10)).toMatchObject({
      state: 'error',
      error:
        'two replica processes use this name (at 10.0.0.1:7080 and 10.0.0.2:7080): give each its own --name',
    });
    // A fresh hello (the other process taking the link again) does not hide it.
    fleet.connected(hello('uk-london', 10, { advertise: '10.0.0.2:7080' }));
    expect(one('uk-london', 10, T0 + 4 * 60_000).state).toBe('error');
    expect(one('uk-london', 10, T0 + 5 * 60_000)).toMatchObject({ state: 'in-sync', error: null });
  });

  it('takes the address a pull advertises, for a replica that has never had a push link, and keeps it when a pull says none', () => {
    fleet.pulled({ name: 'eu-paris', region: 'eu', version: 10, root: ROOT(10), advertise: '10.0.2.1:8080' });
    expect(fleet.facts()[0]).toMatchObject({ link: 'pull', advertise: '10.0.2.1:8080' });
    fleet.pulled({ name: 'eu-paris', region: 'eu', version: 10, root: ROOT(10), advertise: '10.0.2.9:8080' });
    expect(fleet.facts()[0]!.advertise).toBe('10.0.2.9:8080');
    fleet.pulled({ name: 'eu-paris', region: 'eu', version: 10, root: ROOT(10) });
    expect(fleet.facts()[0]!.advertise).toBe('10.0.2.9:8080');
    expect(store.replicas.all()[0]!.advertise).toBe('10.0.2.9:8080');
  });

  it('takes a replica that only pulls as alive while it takes chunks, however long its version takes', () => {
    fleet.pulled({ name: 'eu-paris', region: 'eu', version: 9, root: ROOT(9) });
    // Minutes into a version fetched under --max-rate: no pull, but chunks flowing.
    for (let t = 1_000; t <= 5 * OFFLINE; t += 1_000) {
      vi.setSystemTime(T0 + t);
      fleet.fetching('eu-paris');
    }
    expect(one('eu-paris', 10).link).toBe('pull');
    expect(one('eu-paris', 10).state).not.toBe('offline');
    // Not a replica it has not heard of: nothing is made up.
    fleet.fetching('nobody');
    expect(fleet.facts()).toHaveLength(1);
    // Once the chunks stop, it goes offline as before.
    vi.setSystemTime(T0 + 6 * OFFLINE + 1);
    expect(one('eu-paris', 10).state).toBe('offline');
  });

  it("shows a fault the replica's heartbeats report as its error, in status and to DNS, while they report it", () => {
    fleet.connected(hello('uk-london', 10));
    const fault = 'the store is damaged (database disk image is malformed, found by a read): restart';
    fleet.heartbeat('uk-london', undefined, fault);
    expect(one('uk-london', 10)).toMatchObject({ state: 'error', error: fault });
    expect(fleet.facts()[0]!.error).toBe(fault);
    // Renewed by a restart: the new link and its heartbeats carry no fault.
    fleet.connected(hello('uk-london', 10));
    fleet.heartbeat('uk-london', undefined);
    expect(one('uk-london', 10)).toMatchObject({ state: 'in-sync', error: null });
    expect(fleet.facts()[0]!.error).toBeNull();
  });

  it('keeps a replica it cannot record (a full disk) in memory, says so, and writes it whole once it can', () => {
    const failures: string[] = [];
    const f = new Fleet({
      store,
      offlineAfterMs: OFFLINE,
      behindAfterMs: BEHIND,
      onSaveError: (err, name) => failures.push(`${name}: ${err.message}`),
    });
    const save = vi.spyOn(store.replicas, 'save').mockImplementation(() => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    });
    f.connected(hello('uk-london', 9));
    f.acked('uk-london', 10, ROOT(10), ROOT(10));
    expect(failures).toEqual(['uk-london: database or disk is full', 'uk-london: database or disk is full']);
    expect(one('uk-london', 10, Date.now(), f)).toMatchObject({ state: 'in-sync', version: 10 });
    save.mockRestore();
    f.nacked('uk-london', 11, 'not enough disk space');
    expect(store.replicas.all().find((r) => r.name === 'uk-london')).toMatchObject({
      version: 10,
      error: 'version 11 refused: not enough disk space',
    });
  });

  it('goes offline at a disconnect, and is alive again once it pulls', () => {
    fleet.connected(hello('uk-london', 10));
    vi.setSystemTime(T0 + 2_000);
    fleet.disconnected('uk-london');
    expect(store.replicas.all()[0]).toMatchObject({ link: 'offline', lastSeenAt: T0 + 2_000 });
    expect(one('uk-london', 10, T0 + 2_001)).toMatchObject({
      connected: false,
      link: 'offline',
      state: 'offline',
    });
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 10, root: ROOT(10) });
    expect(one('uk-london', 10, T0 + 2_000 + OFFLINE - 1)).toMatchObject({
      connected: false,
      link: 'pull',
      state: 'in-sync',
    });
    expect(one('uk-london', 10, T0 + 2_000 + OFFLINE)).toMatchObject({
      connected: false,
      link: 'offline',
      state: 'offline',
      version: 10,
      lastSeenAt: new Date(T0 + 2_000).toISOString(),
    });
  });

  it('shows offline rather than error or lag for a replica not heard from', () => {
    fleet.connected(hello('uk-london', 3));
    fleet.nacked('uk-london', 10, 'disk full');
    fleet.disconnected('uk-london');
    expect(one('uk-london', 10, T0 + OFFLINE)).toMatchObject({
      state: 'offline',
      error: 'version 10 refused: disk full',
      lagVersions: 7,
    });
  });

  it('keeps a connected replica alive however long it is silent', () => {
    fleet.connected(hello('uk-london', 10));
    expect(one('uk-london', 10, T0 + 100 * OFFLINE)).toMatchObject({
      connected: true,
      link: 'push',
      state: 'in-sync',
    });
  });

  it('shows a replica that pulls over HTTP, and clears its error once it moves', () => {
    fleet.pulled({ name: 'asia-tokyo', region: 'asia', version: 8, root: ROOT(8) });
    expect(one('asia-tokyo', 10)).toMatchObject({
      region: 'asia',
      connected: false,
      link: 'pull',
      version: 8,
      lagVersions: 2,
      // First heard from just now: catching up, not behind yet.
      state: 'syncing',
      advertise: null,
    });
    expect(store.replicas.all()[0]).toMatchObject({ name: 'asia-tokyo', link: 'pull', version: 8 });
    expect(one('asia-tokyo', 10, T0 + OFFLINE)).toMatchObject({ state: 'offline', link: 'offline' });

    fleet.nacked('asia-tokyo', 9, 'bad chunk');
    // The same version and root again: the error stands.
    fleet.pulled({ name: 'asia-tokyo', region: 'asia', version: 8, root: ROOT(8) });
    expect(one('asia-tokyo', 10)).toMatchObject({ state: 'error', error: 'version 9 refused: bad chunk' });
    // It moved on: the error is old news.
    fleet.pulled({ name: 'asia-tokyo', region: 'asia', version: 10, root: ROOT(10) });
    expect(one('asia-tokyo', 10)).toMatchObject({ state: 'in-sync', error: null, version: 10 });
  });

  it('keeps the push link of a connected replica that also pulls', () => {
    fleet.connected(hello('uk-london', 9));
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 10, root: ROOT(10) });
    expect(one('uk-london', 10)).toMatchObject({ connected: true, link: 'push', version: 10 });
    expect(store.replicas.all()[0]).toMatchObject({ link: 'push' });
  });

  it('keeps the version a connected replica ACKed when a pull sent before the ACK is answered after it', () => {
    fleet.connected(hello('uk-london', 9));
    fleet.acked('uk-london', 10, ROOT(10), ROOT(10));
    vi.setSystemTime(T0 + 5_000);
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 9, root: ROOT(9) });
    expect(one('uk-london', 10)).toMatchObject({
      version: 10,
      state: 'in-sync',
      lastSeenAt: new Date(T0 + 5_000).toISOString(),
    });
    expect(store.replicas.all()[0]).toMatchObject({ version: 10 });
    // Off its push link, a pull is its only word: a replica started anew from an empty store.
    fleet.disconnected('uk-london');
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 0, root: EMPTY_ROOT });
    expect(one('uk-london', 10)).toMatchObject({ version: 0, link: 'pull' });
  });

  it('keeps the advertised address across a hello without one, and takes a new region', () => {
    fleet.connected(hello('uk-london', 9, { advertise: 'a.example:1' }));
    fleet.disconnected('uk-london');
    fleet.connected(hello('uk-london', 10, { region: 'eu' }));
    expect(one('uk-london', 10)).toMatchObject({ advertise: 'a.example:1', region: 'eu', version: 10 });
    fleet.connected(hello('uk-london', 10, { advertise: 'b.example:2' }));
    expect(one('uk-london', 10).advertise).toBe('b.example:2');
  });

  it('takes a heartbeat as a sign of life', () => {
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 10, root: ROOT(10) });
    vi.setSystemTime(T0 + OFFLINE - 1);
    fleet.heartbeat('uk-london', { requestsPerSecond: 3, openConnections: 1 });
    expect(one('uk-london', 10, T0 + OFFLINE + 1)).toMatchObject({
      state: 'in-sync',
      lastSeenAt: new Date(T0 + OFFLINE - 1).toISOString(),
    });
    expect(one('uk-london', 10, T0 + 2 * OFFLINE - 2).state).toBe('in-sync');
    expect(one('uk-london', 10, T0 + 2 * OFFLINE - 1).state).toBe('offline');
  });

  it('ignores news of replicas it never met', () => {
    fleet.disconnected('ghost');
    fleet.acked('ghost', 1, ROOT(1), ROOT(1));
    fleet.nacked('ghost', 1, 'no');
    fleet.heartbeat('ghost', undefined);
    expect(status(10)).toEqual([]);
    expect(store.replicas.all()).toEqual([]);
    expect(fleet.versionOf('ghost')).toBeUndefined();
  });

  it('lists replicas by region, then name', () => {
    fleet.connected(hello('uk-london', 10, { region: 'uk' }));
    fleet.connected(hello('asia-tokyo', 10, { region: 'asia' }));
    fleet.connected(hello('uk-edinburgh', 10, { region: 'uk' }));
    fleet.pulled({ name: 'asia-delhi', region: 'asia', version: 10, root: ROOT(10) });
    expect(status(10).map((r) => r.name)).toEqual(['asia-delhi', 'asia-tokyo', 'uk-edinburgh', 'uk-london']);
  });

  it('starts a replica met by a pull at version 0 defaults before taking its report', () => {
    fleet.pulled({ name: 'uk-new', region: 'uk', version: 0, root: EMPTY_ROOT });
    expect(one('uk-new', 2)).toMatchObject({ version: 0, root: EMPTY_ROOT, lagVersions: 2, error: null });
  });

  it('reloads every replica from the store after a restart, none connected', () => {
    fleet.connected(hello('uk-london', 10, { advertise: 'l.example:7080' }));
    fleet.connected(hello('asia-tokyo', 8, { region: 'asia' }));
    fleet.nacked('asia-tokyo', 9, 'disk full');
    fleet.pulled({ name: 'us-ohio', region: 'us', version: 10, root: ROOT(10) });
    const before = status(10);

    vi.setSystemTime(T0 + 60_000);
    const again = new Fleet({ store, offlineAfterMs: OFFLINE, behindAfterMs: BEHIND });
    expect(again.versionOf('uk-london')).toBe(10);
    expect(again.versionOf('asia-tokyo')).toBe(8);
    const after = status(10, Date.now(), again);
    expect(after.map((r) => r.name)).toEqual(before.map((r) => r.name));
    for (const r of after) {
      const b = before.find((x) => x.name === r.name)!;
      expect(r).toEqual({ ...b, connected: false, link: 'offline', state: 'offline' });
    }
    expect(after.find((r) => r.name === 'asia-tokyo')).toMatchObject({
      error: 'version 9 refused: disk full',
      lagVersions: 2,
    });
    expect(after.find((r) => r.name === 'uk-london')!.advertise).toBe('l.example:7080');

    // It comes back: the reloaded record is brought up to date and written through.
    again.connected(hello('uk-london', 10));
    expect(one('uk-london', 10, Date.now(), again)).toMatchObject({
      connected: true,
      link: 'push',
      state: 'in-sync',
      advertise: 'l.example:7080',
    });
    expect(store.replicas.all().find((r) => r.name === 'uk-london')).toMatchObject({
      link: 'push',
      lastSeenAt: T0 + 60_000,
    });
  });
});

describe('Fleet.forget', () => {
  it('forgets an offline replica in memory, in DNS facts and in the store, and says what it was', () => {
    fleet.connected(hello('uk-london', 9, { advertise: '10.0.0.1:7080' }));
    fleet.connected(hello('asia-tokyo', 10, { region: 'asia' }));
    vi.setSystemTime(T0 + 1000);
    fleet.disconnected('uk-london');
    const out = fleet.forget('uk-london');
    expect(out).toEqual({
      outcome: 'forgotten',
      record: expect.objectContaining({ name: 'uk-london', region: 'uk', version: 9, lastSeenAt: T0 + 1000 }),
    });
    expect(status(10).map((r) => r.name)).toEqual(['asia-tokyo']);
    expect(fleet.facts().map((f) => f.name)).toEqual(['asia-tokyo']);
    expect(fleet.versionOf('uk-london')).toBeUndefined();
    expect(store.replicas.all().map((r) => r.name)).toEqual(['asia-tokyo']);
    // A restarted master does not bring it back.
    const again = new Fleet({ store, offlineAfterMs: OFFLINE, behindAfterMs: BEHIND });
    expect(status(10, Date.now(), again).map((r) => r.name)).toEqual(['asia-tokyo']);
  });

  it('refuses a replica on its push link, and one pulling lately, and forgets it once it is silent', () => {
    fleet.connected(hello('uk-london', 10));
    expect(fleet.forget('uk-london')).toEqual({ outcome: 'alive', link: 'push' });
    fleet.disconnected('uk-london');
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 10, root: ROOT(10) });
    expect(fleet.forget('uk-london')).toEqual({ outcome: 'alive', link: 'pull' });
    expect(fleet.forget('uk-london', Date.now() + OFFLINE - 1)).toEqual({ outcome: 'alive', link: 'pull' });
    expect(status(10).map((r) => r.name)).toEqual(['uk-london']);
    expect(fleet.forget('uk-london', Date.now() + OFFLINE)).toMatchObject({ outcome: 'forgotten' });
    expect(status(10)).toEqual([]);
  });

  it('knows no replica it never met, or one it forgot already', () => {
    expect(fleet.forget('uk-london')).toEqual({ outcome: 'unknown' });
    fleet.connected(hello('uk-london', 10));
    fleet.disconnected('uk-london');
    expect(fleet.forget('uk-london').outcome).toBe('forgotten');
    expect(fleet.forget('uk-london')).toEqual({ outcome: 'unknown' });
  });

  it('meets a forgotten replica that comes back as a new one', () => {
    fleet.connected(hello('uk-london', 4));
    fleet.nacked('uk-london', 5, 'disk full');
    fleet.disconnected('uk-london');
    fleet.forget('uk-london');
    fleet.connected(hello('uk-london', 10, { region: 'eu' }));
    expect(one('uk-london', 10)).toMatchObject({ region: 'eu', state: 'in-sync', error: null });
  });

  it('keeps the replica when the store refuses the delete', () => {
    fleet.connected(hello('uk-london', 10));
    fleet.disconnected('uk-london');
    const remove = vi.spyOn(store.replicas, 'remove').mockImplementation(() => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    });
    expect(() => fleet.forget('uk-london')).toThrow(/disk is full/);
    remove.mockRestore();
    expect(status(10).map((r) => r.name)).toEqual(['uk-london']);
    expect(store.replicas.all().map((r) => r.name)).toEqual(['uk-london']);
  });
});

describe('Fleet.onPreviousToken', () => {
  it('names the replicas whose last hello or pull presented the token being retired', () => {
    fleet.connected({ ...hello('uk-london', 10), previousToken: true });
    fleet.connected(hello('asia-tokyo', 10, { region: 'asia' }));
    fleet.pulled({ name: 'us-west', region: 'us', version: 10, root: ROOT(10), previousToken: true });
    expect(fleet.onPreviousToken()).toEqual(['uk-london', 'us-west']);
    // Each is given the new token and comes back with it.
    fleet.disconnected('uk-london');
    expect(fleet.onPreviousToken()).toEqual(['uk-london', 'us-west']);
    fleet.connected(hello('uk-london', 10));
    fleet.pulled({ name: 'us-west', region: 'us', version: 10, root: ROOT(10) });
    expect(fleet.onPreviousToken()).toEqual([]);
    // Not kept across a restart: learned again at the next hello.
    fleet.connected({ ...hello('uk-london', 10), previousToken: true });
    expect(new Fleet({ store, offlineAfterMs: OFFLINE, behindAfterMs: BEHIND }).onPreviousToken()).toEqual(
      [],
    );
  });

  it('names the replicas known from before the start and not heard from since', () => {
    fleet.connected(hello('uk-london', 10));
    fleet.pulled({ name: 'us-west', region: 'us', version: 10, root: ROOT(10) });
    expect(fleet.notSeenSinceStart()).toEqual([]);
    const again = new Fleet({ store, offlineAfterMs: OFFLINE, behindAfterMs: BEHIND });
    expect(again.notSeenSinceStart()).toEqual(['uk-london', 'us-west']);
    again.pulled({ name: 'us-west', region: 'us', version: 10, root: ROOT(10) });
    again.connected(hello('asia-tokyo', 10, { region: 'asia' }));
    expect(again.notSeenSinceStart()).toEqual(['uk-london']);
  });
});

describe('Fleet.facts (what DNS judges)', () => {
  it('gives each replica its link, last sighting, address and last reported load', () => {
    fleet.connected(hello('uk-london', 10, { advertise: '10.0.0.1:8080' }));
    vi.setSystemTime(T0 + 500);
    fleet.heartbeat('uk-london', { requestsPerSecond: 12.5, openConnections: 3 });
    expect(fleet.facts()).toEqual([
      {
        name: 'uk-london',
        region: 'uk',
        connected: true,
        link: 'push',
        version: 10,
        root: ROOT(10),
        lastSeenAt: T0 + 500,
        error: null,
        advertise: '10.0.0.1:8080',
        load: { requestsPerSecond: 12.5, openConnections: 3 },
      },
    ]);
    vi.setSystemTime(T0 + 900);
    fleet.disconnected('uk-london');
    expect(fleet.facts()[0]).toMatchObject({ connected: false, link: 'offline', lastSeenAt: T0 + 900 });
    fleet.pulled({ name: 'uk-london', region: 'uk', version: 10, root: ROOT(10) });
    expect(fleet.facts()[0]).toMatchObject({ connected: false, link: 'pull' });
  });

  it('comes back after a restart from the store, offline and without load', () => {
    fleet.connected(hello('uk-london', 10, { advertise: '10.0.0.1' }));
    fleet.heartbeat('uk-london', { requestsPerSecond: 1, openConnections: 1 });
    const again = new Fleet({ store, offlineAfterMs: OFFLINE, behindAfterMs: BEHIND });
    expect(again.facts()[0]).toMatchObject({
      connected: false,
      link: 'offline',
      advertise: '10.0.0.1',
      load: null,
    });
  });
});
