import dnsPacket from 'dns-packet';
import type { FleetFacts, ReplicaFacts } from './eligibility.js';
import { buildZoneView, type ZoneSettings, type ZoneView } from './zone-view.js';

// Shared by the unit tests of this package (not exported from the index).

export const NOW = 1_800_000_000_000;
export const ROOT = 'a'.repeat(64);

export function replica(
  name: string,
  region: string,
  advertise: string | null,
  o: Partial<ReplicaFacts> = {},
) {
  return {
    name,
    region,
    connected: true,
    link: 'push',
    version: 7,
    root: ROOT,
    lastSeenAt: NOW - 100,
    error: null,
    advertise,
    load: { requestsPerSecond: 0, openConnections: 0 },
    ...o,
  } satisfies ReplicaFacts as ReplicaFacts;
}

export function facts(replicas: ReplicaFacts[], o: Partial<FleetFacts> = {}): FleetFacts {
  return {
    latest: { version: 7, root: ROOT },
    createdAt: (v) => NOW - (8 - v) * 60_000,
    now: NOW,
    replicas,
    ...o,
  };
}

export function settings(o: Partial<ZoneSettings> = {}): ZoneSettings {
  return {
    zone: 'corp.example',
    ttl: 5,
    mode: 'all',
    maxLag: 0,
    heartbeatMs: 1000,
    fallback: {},
    nsAddress: '127.0.0.1',
    ...o,
  };
}

/** uk: two replicas, eu: one, us: one IPv6. */
export function standardView(o: Partial<ZoneSettings> = {}, extra: ReplicaFacts[] = []): ZoneView {
  return buildZoneView(
    settings(o),
    facts([
      replica('uk-london', 'uk', '10.0.1.1:8080'),
      replica('uk-leeds', 'uk', '10.0.1.2:8080'),
      replica('eu-paris', 'eu', '10.0.2.1'),
      replica('us-nyc', 'us', '[2001:db8::1]:8080'),
      ...extra,
    ]),
  );
}

export function query(
  name: string,
  type: dnsPacket.RecordType | number = 'A',
  o: { id?: number; edns?: number; ednsVersion?: number; dnssecOk?: boolean; klass?: number } = {},
): Buffer {
  const buf = dnsPacket.encode({
    id: o.id ?? 4242,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: typeof type === 'number' ? 'A' : type }],
    additionals:
      o.edns === undefined
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: o.edns,
              ednsVersion: o.ednsVersion ?? 0,
              flags: o.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
            } as unknown as dnsPacket.Answer,
          ],
  });
  // Numeric types and classes are patched in after the name.
  const qEnd = 12 + Buffer.byteLength(name.replace(/\.$/, '')) + 2;
  if (typeof type === 'number') buf.writeUInt16BE(type, qEnd);
  if (o.klass !== undefined) buf.writeUInt16BE(o.klass, qEnd + 2);
  return buf;
}
