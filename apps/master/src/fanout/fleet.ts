import { EMPTY_ROOT } from '@outpost/core';
import type { ReplicaFacts } from '@outpost/dns';
import type { FleetReplica, Load, ReplicaState } from '@outpost/protocol';
import type { ReplicaRecord, Store } from '@outpost/store';
import { MAX_VERSION_JUMP } from './held-beyond.js';

interface Member {
  record: ReplicaRecord;
  connected: boolean;
  load: Load | null;
  /** A fault the replica reports of itself with its heartbeats (damage in its store); null when none. */
  fault: string | null;
  /** It authenticated last with the replication token being retired (in memory: learned again at each hello). */
  previousToken: boolean;
  /** Heard from (a hello or a pull) since this master started. */
  seenSinceStart: boolean;
  /** Two live processes seen using this name: where each says readers reach it, and when. */
  sharedName?: { advertises: [string, string]; at: number };
  /** Why it last dropped its push link over a message we sent; kept across its reconnects until it acknowledges a version. */
  linkRefusal?: string;
  /**
   * When it came back after being offline (or was first heard from): its lag counts from then,
   * not from versions cut while it was away. A new replica was "behind" from its first second.
   */
  upSince?: number;
}

/** What `Fleet.forget` did: forgot the replica (its last record), knew none, or refused a live one. */
export type ForgetOutcome =
  | { outcome: 'forgotten'; record: ReplicaRecord }
  | { outcome: 'unknown' }
  | { outcome: 'alive'; link: 'push' | 'pull' };

/** How long status shows a name two processes used, after the last time it was seen. */
const SHARED_NAME_SHOWN_MS = 5 * 60_000;

export interface FleetOptions {
  store: Store;
  /** A replica not heard from in this long is offline. */
  offlineAfterMs: number;
  /** A replica lagging behind a version older than this is "behind" rather than "syncing". */
  behindAfterMs: number;
  /** Told when a replica's record could not be written to the store (a full disk). */
  onSaveError?: (err: Error, name: string) => void;
}

/**
 * What the master knows of every replica it has ever seen: kept in memory for speed and
 * written through to the store on every change of substance, so status survives restarts.
 */
export class Fleet {
  readonly #o: FleetOptions;
  readonly #members = new Map<string, Member>();

  constructor(opts: FleetOptions) {
    this.#o = opts;
    for (const record of opts.store.replicas.all()) {
      this.#members.set(record.name, {
        record: { ...record, link: 'offline' },
        connected: false,
        load: null,
        fault: null,
        previousToken: false,
        seenSinceStart: false,
      });
    }
  }

  /** A replica said hello over the push link. */
  connected(info: {
    name: string;
    region: string;
    version: number;
    root: string;
    advertise?: string;
    previousToken?: boolean;
    /**
     * It holds the latest version, with its root: nothing is pushed to it, so a message it
     * dropped a link over before is behind it (a damaged frame, a version since superseded).
     */
    current?: boolean;
  }): void {
    const m = this.#member(info.name, info.region);
    if (info.current) m.linkRefusal = undefined;
    this.#noteComeBack(m);
    Object.assign(m.record, {
      region: info.region,
      version: info.version,
      root: info.root,
      advertise: info.advertise ?? m.record.advertise,
      link: 'push',
      lastSeenAt: Date.now(),
      // A fresh link starts afresh: a version that fails again is NACKed again. A link dropped
      // over a message would be dropped again, and status would flicker between its reconnects.
      error: m.linkRefusal ?? null,
    });
    m.connected = true;
    m.previousToken = info.previousToken === true;
    m.seenSinceStart = true;
    // Its heartbeats say again whether the fault lasts (a restart renews a damaged store).
    m.fault = null;
    this.#save(m);
  }

  /**
   * Two live replica processes said hello with one name (each takes the link from the other,
   * in turn, and DNS answers with whichever spoke last): shown as an error for a while.
   */
  nameShared(name: string, advertises: [string, string], now = Date.now()): void {
    const m = this.#members.get(name);
    if (m) m.sharedName = { advertises, at: now };
  }

  /**
   * The push link of a replica closed; `refused`: the replica dropped it over a message, and
   * why; `heardAt`: when it was last heard from (a link dropped as silent: its last message).
   */
  disconnected(name: string, refused?: string, heardAt: number = Date.now()): void {
    const m = this.#members.get(name);
    if (!m) return;
    if (refused !== undefined) {
      m.linkRefusal = `dropped the push link over a message: ${refused}`;
      m.record.error = m.linkRefusal;
    }
    m.connected = false;
    m.record.link = 'offline';
    m.record.lastSeenAt = Math.max(m.record.lastSeenAt ?? 0, heardAt);
    this.#save(m);
  }

  /** The replica's own token was taken away or changed (--replica-tokens read again): status says so, as it is refused from now on. */
  revoked(name: string): void {
    const m = this.#members.get(name);
    if (!m) return;
    m.record.error =
      'its replication token was revoked or changed (--replica-tokens): refused until it has one that holds';
    this.#save(m);
  }

  /** A replica pulled a manifest over HTTP, saying what it holds (and its own fault, if any). */
  pulled(info: {
    name: string;
    region: string;
    version: number;
    root: string;
    fault?: string | undefined;
    /** Where readers reach it, when the pull says (as a hello does): a replica that only pulls is answered in DNS too. */
    advertise?: string | undefined;
    previousToken?: boolean;
  }): void {
    const m = this.#member(info.name, info.region);
    this.#noteComeBack(m);
    m.previousToken = info.previousToken === true;
    m.seenSinceStart = true;
    // A pull says what a heartbeat would: a replica off its push link is heard only this way.
    m.fault = info.fault ?? null;
    m.record.lastSeenAt = Date.now();
    m.record.advertise = info.advertise ?? m.record.advertise;
    // Over a push link, its hello and ACKs say what it holds. A pull sent before an ACK and
    // answered after it names an older version: taken, it would show the replica behind until
    // the next version (which a master over a quiet tree may never publish).
    if (!m.connected || info.version >= m.record.version) {
      const changed = m.record.version !== info.version || m.record.root !== info.root;
      Object.assign(m.record, { region: info.region, version: info.version, root: info.root });
      if (!m.connected) m.record.link = 'pull';
      if (changed) m.record.error = null;
    }
    this.#save(m);
  }

  /** A replica applied a version. */
  acked(name: string, version: number, root: string, expectedRoot: string | undefined): void {
    const m = this.#members.get(name);
    if (!m) return;
    m.record.version = version;
    m.record.root = root;
    m.record.lastSeenAt = Date.now();
    m.linkRefusal = undefined;
    m.record.error =
      expectedRoot !== undefined && expectedRoot !== root
        ? `acknowledged version ${version} with root ${root}, expected ${expectedRoot}`
        : null;
    this.#save(m);
  }

  /** A replica refused a version, and why. */
  nacked(name: string, version: number, reason: string): void {
    const m = this.#members.get(name);
    if (!m) return;
    m.record.error = `version ${version} refused: ${reason}`;
    m.record.lastSeenAt = Date.now();
    this.#save(m);
  }

  /**
   * The replica is taking chunks from us: it is alive. One that only pulls says nothing else
   * while it fetches a large version (minutes under --max-rate), and was shown silent, and
   * left out of DNS, while it fetched.
   */
  fetching(name: string, now = Date.now()): void {
    const m = this.#members.get(name);
    if (m) m.record.lastSeenAt = now;
  }

  /** A heartbeat: the replica is alive, and this is its load (and its own fault, if any). */
  heartbeat(name: string, load: Load | undefined, fault?: string): void {
    const m = this.#members.get(name);
    if (!m) return;
    m.record.lastSeenAt = Date.now();
    if (load) m.load = load;
    m.fault = fault ?? null;
  }

  /**
   * Forgets an offline replica (an office closed, a replica renamed), which status would
   * otherwise show offline, and `outpost status` count as failing, for ever. A live one is
   * refused: it would be back at its next hello or pull. Its record goes from the store first,
   * so a store that refuses the delete leaves the fleet as it was.
   */
  forget(name: string, now = Date.now()): ForgetOutcome {
    const m = this.#members.get(name);
    if (!m) return { outcome: 'unknown' };
    if (this.#alive(m, now)) return { outcome: 'alive', link: m.connected ? 'push' : 'pull' };
    this.#o.store.replicas.remove(name);
    this.#members.delete(name);
    return { outcome: 'forgotten', record: { ...m.record } };
  }

  /** The replicas that authenticated last with the replication token being retired, by name. */
  onPreviousToken(): string[] {
    return [...this.#members.values()]
      .filter((m) => m.previousToken)
      .map((m) => m.record.name)
      .sort();
  }

  /** The replicas known from before this master started and not heard from since, by name. */
  notSeenSinceStart(): string[] {
    return [...this.#members.values()]
      .filter((m) => !m.seenSinceStart)
      .map((m) => m.record.name)
      .sort();
  }

  /** What the DNS server needs of every replica: raw facts, judged there. */
  facts(): ReplicaFacts[] {
    return [...this.#members.values()].map((m) => ({
      name: m.record.name,
      region: m.record.region,
      connected: m.connected,
      link: m.connected ? 'push' : m.record.link,
      version: m.record.version,
      root: m.record.root,
      lastSeenAt: m.record.lastSeenAt,
      error: m.fault ?? m.record.error,
      advertise: m.record.advertise,
      load: m.load,
    }));
  }

  /** The version a replica last reported holding. */
  versionOf(name: string): number | undefined {
    return this.#members.get(name)?.record.version;
  }

  /** Every replica's status, relative to the latest version. */
  status(
    latest: { version: number; root: string },
    versionCreatedAt: (v: number) => number | undefined,
    now = Date.now(),
  ): FleetReplica[] {
    return [...this.#members.values()]
      .map((m) => this.#describe(m, latest, versionCreatedAt, now))
      .sort((a, b) => a.region.localeCompare(b.region) || a.name.localeCompare(b.name));
  }

  #describe(
    m: Member,
    latest: { version: number; root: string },
    createdAt: (v: number) => number | undefined,
    now: number,
  ): FleetReplica {
    const r = m.record;
    const alive = this.#alive(m, now);
    const lag = Math.max(0, latest.version - r.version);
    // Ahead of the master (its store lost and rebuilt: it cuts a version past the replica's once
    // it has read its directory) is no wrong root, but the wait for that version.
    const wrongRoot = r.version === latest.version && r.root !== latest.root;
    const ahead = r.version > latest.version;
    // Past what the master follows (see MAX_VERSION_JUMP): no version will be cut past it.
    const farAhead = r.version - latest.version > MAX_VERSION_JUMP;
    const shared =
      m.sharedName && now - m.sharedName.at < SHARED_NAME_SHOWN_MS
        ? `two replica processes use this name (at ${m.sharedName.advertises.join(' and ')}): give each its own --name`
        : null;
    let state: ReplicaState;
    if (!alive) state = 'offline';
    else if (r.error || shared || m.fault || wrongRoot || farAhead) state = 'error';
    else if (ahead) state = 'syncing';
    else if (lag === 0) state = 'in-sync';
    else {
      const due = createdAt(r.version + 1);
      // Waiting since that version was cut, or since it came back, whichever is later.
      const waitingSince = due === undefined ? undefined : Math.max(due, m.upSince ?? due);
      state = waitingSince !== undefined && now - waitingSince > this.#o.behindAfterMs ? 'behind' : 'syncing';
    }
    return {
      name: r.name,
      region: r.region,
      connected: m.connected,
      link: m.connected ? 'push' : alive ? 'pull' : 'offline',
      version: r.version,
      root: r.root,
      lagVersions: lag,
      lastSeenAt: r.lastSeenAt === null ? null : new Date(r.lastSeenAt).toISOString(),
      state,
      error:
        shared ??
        m.fault ??
        r.error ??
        (wrongRoot ? `holds root ${r.root} for version ${r.version}, expected ${latest.root}` : null) ??
        (farAhead
          ? `holds version ${r.version}, implausibly far beyond this master's latest (${latest.version}): not followed`
          : null),
      advertise: r.advertise,
    };
  }

  /** Alive: on the push link, or pulling and heard from lately. */
  /** Heard from again: when it had not been for offlineAfterMs (or ever), its lag counts from now. A link that drops and comes straight back counts on. */
  #noteComeBack(m: Member): void {
    const now = Date.now();
    const last = m.record.lastSeenAt;
    if (m.upSince === undefined || last === null || now - last >= this.#o.offlineAfterMs) m.upSince = now;
  }

  #alive(m: Member, now: number): boolean {
    const r = m.record;
    return (
      m.connected ||
      (r.link === 'pull' && r.lastSeenAt !== null && now - r.lastSeenAt < this.#o.offlineAfterMs)
    );
  }

  #member(name: string, region: string): Member {
    let m = this.#members.get(name);
    if (!m) {
      m = {
        record: {
          name,
          region,
          version: 0,
          root: EMPTY_ROOT,
          lastSeenAt: null,
          error: null,
          advertise: null,
          link: 'offline',
        },
        connected: false,
        load: null,
        fault: null,
        previousToken: false,
        seenSinceStart: false,
      };
      this.#members.set(name, m);
    }
    return m;
  }

  /**
   * Writes a replica's record through, so status survives a restart. The record in memory is
   * what status shows while the master runs: a write the store refuses (a full disk) is
   * reported, and the next change writes the record whole again. It used to throw out of the
   * replica's hello, and end the master.
   */
  #save(m: Member): void {
    try {
      this.#o.store.replicas.save(m.record);
    } catch (err) {
      if (!this.#o.onSaveError) throw err;
      this.#o.onSaveError(err as Error, m.record.name);
    }
  }
}
