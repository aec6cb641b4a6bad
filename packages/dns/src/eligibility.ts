import { type Load, parseAdvertise } from '@outpost/protocol';

/** What the master knows of one replica, as the DNS logic needs it. */
export interface ReplicaFacts {
  name: string;
  region: string;
  /** On the push link now. */
  connected: boolean;
  link: 'push' | 'pull' | 'offline';
  version: number;
  root: string;
  /** Last message or pull from it (ms since the epoch). */
  lastSeenAt: number | null;
  /** Its last version failed (NACK), or it holds a root other than the master's. */
  error: string | null;
  advertise: string | null;
  load: Load | null;
}

export interface FleetFacts {
  latest: { version: number; root: string };
  /** When a version was published (ms), if the master still keeps it. */
  createdAt: (version: number) => number | undefined;
  now: number;
  replicas: ReplicaFacts[];
}

export interface EligibilityRules {
  heartbeatMs: number;
  /** Versions a replica may lag and still be answered. */
  maxLag: number;
}

/** One replica judged: in or out of the answers, and why in words an admin reads. */
export interface Judged {
  name: string;
  region: string;
  address: string | null;
  family: 0 | 4 | 6;
  in: boolean;
  reason: string;
  load: Load | null;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Decides which replicas DNS may answer with. A replica is in when it has an IP address to
 * answer, was heard from within two heartbeats (on the push link, or pulling), holds a complete
 * version without error, and lags the latest by at most `maxLag` versions. A replica is also
 * kept for one heartbeat after a newer version is published, while it applies it, so that each
 * publish does not empty the zone; past that it drops out until it has caught up.
 */
export function judge(facts: FleetFacts, rules: EligibilityRules): Judged[] {
  return facts.replicas.map((r) => judgeOne(r, facts, rules));
}

function judgeOne(r: ReplicaFacts, f: FleetFacts, rules: EligibilityRules): Judged {
  let address: string | null = null;
  let family: 0 | 4 | 6 = 0;
  const out: string[] = [];
  if (r.advertise === null) out.push('no address: the replica advertises none (--advertise IP:PORT)');
  else {
    const a = parseAdvertise(r.advertise);
    if ('error' in a) out.push(`advertised address '${r.advertise}' is invalid: ${a.error}`);
    else if (a.family === 0)
      out.push(`advertised address '${r.advertise}' is a host name; DNS answers need an IP`);
    else {
      address = a.host;
      family = a.family;
    }
  }

  const silentFor = r.lastSeenAt === null ? null : f.now - r.lastSeenAt;
  const limit = 2 * rules.heartbeatMs;
  if (r.lastSeenAt === null || silentFor === null) out.push('never heard from');
  else if (!r.connected && r.link !== 'pull') out.push(`disconnected ${secs(silentFor)} ago`);
  else if (silentFor > limit) out.push(`silent for ${secs(silentFor)} (over two heartbeats, ${secs(limit)})`);

  const lag = Math.max(0, f.latest.version - r.version);
  let catchingUp = '';
  if (r.version === 0 && f.latest.version > 0) out.push('not ready: holds no version yet');
  else if (r.error) out.push(`error: ${r.error}`);
  else if (lag === 0 && r.root !== f.latest.root)
    out.push(
      `holds root ${r.root.slice(0, 12)} for version ${r.version}, expected ${f.latest.root.slice(0, 12)}`,
    );
  else if (lag > rules.maxLag) {
    // The first version past what it may lag: how long it has had to apply it.
    const due = f.createdAt(r.version + rules.maxLag + 1);
    const waited = due === undefined ? Number.POSITIVE_INFINITY : f.now - due;
    const what = `holds version ${r.version}, latest ${f.latest.version} (lag ${lag} > ${rules.maxLag})`;
    if (waited <= rules.heartbeatMs) catchingUp = `; applying: ${what}, for ${secs(Math.max(0, waited))}`;
    else out.push(`behind: ${what}`);
  }

  // Written out rather than spread from a shared base: this runs per replica on every rebuild.
  if (out.length > 0)
    return {
      name: r.name,
      region: r.region,
      address,
      family,
      in: false,
      reason: out.join('; '),
      load: r.load,
    };
  const heard = silentFor === null ? '' : `, heard ${secs(silentFor)} ago`;
  const held =
    lag === 0 ? `holds the latest version ${r.version}` : `holds version ${r.version} (lag ${lag})`;
  return {
    name: r.name,
    region: r.region,
    address,
    family,
    in: true,
    reason: `${held}${heard}${catchingUp}`,
    load: r.load,
  };
}
