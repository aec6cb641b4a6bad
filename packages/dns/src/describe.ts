import type { DnsName, DnsReplica } from '@outpost/protocol';
import type { ZoneView } from './zone-view.js';

/** For the REST API: what each name answers now (with the share each address can expect). */
export function describeNames(view: ZoneView): DnsName[] {
  const zone = view.settings.zone;
  return [...view.names.entries()]
    .sort(([a, ea], [b, eb]) => order(ea.kind) - order(eb.kind) || a.localeCompare(b))
    .map(([label, e]) => {
      const total = (family: number) =>
        e.targets.filter((t) => t.family === family).reduce((sum, t) => sum + t.weight, 0);
      const t4 = total(4);
      const t6 = total(6);
      return {
        name: label === '' ? zone : `${label}.${zone}`,
        kind: e.kind,
        via: e.via,
        answers: e.targets.map((t) => ({
          type: t.family === 4 ? ('A' as const) : ('AAAA' as const),
          address: t.address,
          replica: t.replica,
          share: round(t.weight / (t.family === 4 ? t4 : t6)),
        })),
      };
    });
}

/** For the REST API: every replica, in or out of the answers, and why. */
export function describeReplicas(view: ZoneView): DnsReplica[] {
  return view.judged.map((j) => ({
    name: j.name,
    region: j.region,
    address: j.address,
    in: j.in,
    reason: j.reason + shadowed(view, j.name),
    weight: round(view.weights.get(j.name) ?? 0),
    load: j.load,
  }));
}

/**
 * A replica whose name is a region's (or the name server's) has no name of its own: said, as
 * nothing else shows that `uk.corp.example` answers region uk rather than replica uk.
 */
function shadowed(view: ZoneView, name: string): string {
  const kind = view.names.get(name)?.kind;
  const fqdn = `${name}.${view.settings.zone}`;
  if (kind === 'region') return `; no name of its own: ${fqdn} answers region ${name}`;
  if (kind === 'ns') return `; no name of its own: ${fqdn} is the name server's`;
  return '';
}

const order = (k: string) => ['apex', 'region', 'replica', 'ns'].indexOf(k);
const round = (x: number) => Math.round(x * 1000) / 1000;
