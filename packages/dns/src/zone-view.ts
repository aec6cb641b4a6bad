import { isIPv4, isIPv6 } from 'node:net';
import { type EligibilityRules, type FleetFacts, type Judged, judge } from './eligibility.js';
import { buildPool, type Pool } from './pool.js';
import { loadScore, weightsFromLoad } from './weights.js';

export type DnsMode = 'all' | 'one';

export interface ZoneSettings extends EligibilityRules {
  /** The zone, lowercase, without the trailing dot: `corp.example`. */
  zone: string;
  /** TTL of every record (and the negative-caching TTL), in seconds. */
  ttl: number;
  mode: DnsMode;
  /** Region → regions to try, in order, when it has no replica to answer with; `*` for any. */
  fallback: Record<string, string[]>;
  /** The name server's own address, answered for `ns.<zone>` (null: none). */
  nsAddress: string | null;
}

/** One address a name may answer with. */
export interface Target {
  replica: string | null;
  address: string;
  family: 4 | 6;
  weight: number;
}

export type NameKind = 'apex' | 'region' | 'replica' | 'ns';

/** What one name under the zone answers now. */
export interface NameEntry {
  kind: NameKind;
  /** Who answers and why: the region itself, a fallback, or nobody. */
  via: string;
  /** Both families, for the REST description. */
  targets: Target[];
  /** The IPv4 targets as answered (null: none). */
  a: Pool | null;
  /** The IPv6 targets as answered (null: none). */
  aaaa: Pool | null;
}

/** The most replicas a zone view takes: past it the view is not built, and the error says why. */
export const MAX_VIEW_REPLICAS = 50_000;

/** The label of the name server under the zone; a region or replica of that name is shadowed. */
export const NS_LABEL = 'ns';

/** An immutable picture of the zone: which name answers what, and each replica judged. */
export interface ZoneView {
  settings: ZoneSettings;
  zoneLabels: string[];
  /** Key: the label under the zone (`uk`, `uk-london`, `ns`), or '' for the apex. */
  names: Map<string, NameEntry>;
  judged: Judged[];
  /** Weight of each eligible replica among all eligible ones (1 = average). */
  weights: Map<string, number>;
  serial: number;
  builtAt: number;
}

function targetsOf(judged: Judged[]): Target[] {
  // One replica (each replica's own name): its weight among itself is 1, no Map needed.
  if (judged.length === 1) {
    const j = judged[0]!;
    return [{ replica: j.name, address: j.address!, family: j.family as 4 | 6, weight: 1 }];
  }
  const weights = weightsFromLoad(judged.map((j) => loadScore(j.load)));
  // Replicas sharing an address (behind one NAT, say) are one record: an RRset has no duplicates.
  const byAddress = new Map<string, Target>();
  judged.forEach((j, i) => {
    const seen = byAddress.get(j.address!);
    if (seen) seen.weight += weights[i]!;
    else
      byAddress.set(j.address!, {
        replica: j.name,
        address: j.address!,
        family: j.family as 4 | 6,
        weight: weights[i]!,
      });
  });
  return [...byAddress.values()];
}

const NONE: Target[] = [];

/** The IPv4 and the IPv6 targets; a list of one family is returned as it is, not copied. */
function byFamily(targets: Target[]): [Target[], Target[]] {
  let v4 = 0;
  for (const t of targets) if (t.family === 4) v4++;
  if (v4 === targets.length) return [targets, NONE];
  if (v4 === 0) return [NONE, targets];
  return [targets.filter((t) => t.family === 4), targets.filter((t) => t.family === 6)];
}

/**
 * Code-unit order. Names and regions are labels (`[a-z0-9-]`, checked where they come in),
 * which it sorts as localeCompare does, at a fraction of the cost: the sort was a fifth of a
 * rebuild at 4,000 replicas.
 */
const collate = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A name's entry before its pools are made; `families`: its IPv4 and IPv6 targets, when they
 * come from different places (a region's own IPv6 replicas, and a fallback's IPv4 ones).
 */
type Draft = Omit<NameEntry, 'a' | 'aaaa'> & { families?: [Target[], Target[]] };

/**
 * Builds the zone's answers from what the master knows of its fleet, at `facts.now`. With
 * `previous` (the view this one replaces) each name's rotation carries on where it stood.
 */
export function buildZoneView(settings: ZoneSettings, facts: FleetFacts, previous?: ZoneView): ZoneView {
  // A bound on the work of one rebuild and the memory of one view (a pool and a rotation per
  // name): a fleet past it is a misconfiguration (or replicas never forgotten), said as such.
  if (facts.replicas.length > MAX_VIEW_REPLICAS)
    throw new Error(
      `the DNS zone view takes at most ${MAX_VIEW_REPLICAS} replicas; the master knows ${facts.replicas.length} (outpost forget removes those gone for good)`,
    );
  const judged = judge(facts, settings).sort(
    (a, b) => collate(a.region, b.region) || collate(a.name, b.name),
  );
  const eligible = judged.filter((j) => j.in);
  const byRegion = new Map<string, Judged[]>();
  for (const j of eligible) {
    const list = byRegion.get(j.region) ?? [];
    list.push(j);
    byRegion.set(j.region, list);
  }
  const regions = new Set<string>([...judged.map((j) => j.region), ...Object.keys(settings.fallback)]);
  regions.delete('*');

  const names = new Map<string, Draft>();
  const all = targetsOf(eligible);
  names.set('', {
    kind: 'apex',
    via: all.length > 0 ? 'every eligible replica' : 'no replica to answer with',
    targets: all,
  });

  // A region's A answers fall back on their own: a region whose only replicas are IPv6
  // answered an A query (what most clients ask, and all IPv4-only ones) with nothing, while
  // IPv4 replicas were in elsewhere. AAAA answers do not: a region of IPv4 replicas answers
  // AAAA with NODATA, as before, so that a dual-stack reader keeps to the region's own replicas
  // (one given a far IPv6 address would prefer it) and DNS64 can make AAAA from the A records.
  const present = { 4: eligible.some((j) => j.family === 4), 6: eligible.some((j) => j.family === 6) };
  /** Where a region's answers of one family come from: its own replicas, a fallback's, or every region's. */
  const sourceOf = (region: string, family: 4 | 6, chain: string[]): { list: Judged[]; via: string } => {
    const has = (list: Judged[] | undefined): list is Judged[] =>
      list !== undefined && (family === 6 || list.some((j) => j.family === 4));
    const own = byRegion.get(region);
    if (has(own)) return { list: own, via: `region ${region}` };
    // Replicas of IPv6 only: said, so that the two families' answers read apart.
    const none = own === undefined ? 'no replica' : 'no IPv4 replica';
    for (const next of chain) {
      const alt = byRegion.get(next);
      if (has(alt))
        return { list: alt, via: `fallback: region ${region} has ${none} to answer with; answering ${next}` };
    }
    const tried = [region, ...chain].join(', ');
    const verb = chain.length ? 'have' : 'has';
    return {
      list: eligible,
      via: `fallback: ${tried} ${verb} ${none} to answer with; answering every region`,
    };
  };
  const targetsOfList = (list: Judged[]) => (list === eligible ? all : targetsOf(list));
  const regionEntry = (region: string): Draft => {
    const chain = settings.fallback[region] ?? settings.fallback['*'] ?? [];
    const v4 = present[4] ? sourceOf(region, 4, chain) : null;
    const v6 = present[6] ? sourceOf(region, 6, chain) : null;
    if (v4 === null && v6 === null) return { kind: 'region', via: 'no replica to answer with', targets: [] };
    if (v4 === null || v6 === null || v4.list === v6.list) {
      const one = (v4 ?? v6)!;
      return { kind: 'region', via: one.via, targets: targetsOfList(one.list) };
    }
    const families: [Target[], Target[]] = [
      byFamily(targetsOfList(v4.list))[0],
      byFamily(targetsOfList(v6.list))[1],
    ];
    return {
      kind: 'region',
      via: `A: ${v4.via}; AAAA: ${v6.via}`,
      targets: [...families[0], ...families[1]],
      families,
    };
  };
  for (const region of regions) names.set(region, regionEntry(region));

  for (const j of judged) {
    if (names.has(j.name)) continue; // a region of the same name wins
    if (j.in) {
      names.set(j.name, { kind: 'replica', via: `replica ${j.name}`, targets: targetsOf([j]) });
    } else {
      const r = names.get(j.region) ?? regionEntry(j.region);
      names.set(j.name, {
        kind: 'replica',
        via: `${j.name} is out; answering its region ${j.region} (${r.via})`,
        targets: r.targets,
        ...(r.families ? { families: r.families } : {}),
      });
    }
  }

  const ns = settings.nsAddress;
  const nsFamily = ns && isIPv4(ns) ? 4 : ns && isIPv6(ns) ? 6 : 0;
  names.set(NS_LABEL, {
    kind: 'ns',
    via: 'the name server (this master)',
    targets: nsFamily ? [{ replica: null, address: ns!, family: nsFamily, weight: 1 }] : [],
  });

  // Each name's pools: a target list shared by names (a fallback, a replica that is out) is
  // split by family once.
  const split = new Map<Target[], [Target[], Target[]]>();
  const entries = new Map<string, NameEntry>();
  const pool = (targets: Target[], was: Pool | null | undefined) =>
    targets.length === 0 ? null : buildPool(targets, settings.ttl, was);
  for (const [label, d] of names) {
    let families = d.families ?? split.get(d.targets);
    if (!families) {
      families = byFamily(d.targets);
      split.set(d.targets, families);
    }
    const before = previous?.names.get(label);
    entries.set(label, {
      kind: d.kind,
      via: d.via,
      targets: d.targets,
      a: pool(families[0], before?.a),
      aaaa: pool(families[1], before?.aaaa),
    });
  }

  return {
    settings,
    zoneLabels: settings.zone.split('.'),
    names: entries,
    judged,
    // Per replica, not per record: replicas sharing an address each keep their own weight.
    weights: new Map(
      weightsFromLoad(eligible.map((j) => loadScore(j.load))).map((w, i) => [eligible[i]!.name, w]),
    ),
    serial: facts.latest.version % 2 ** 32,
    builtAt: facts.now,
  };
}
