import { type MasterStatus, ReplicaStateSchema } from '@outpost/protocol';
import { oneHot, type Registry, scrapedCounter, scrapedGauge } from '@outpost/service';
import type { StoreFootprint } from '@outpost/store';

export interface MasterMetricsDeps {
  status: () => MasterStatus;
  /** The DNS server's counters; null when the master serves no zone. */
  dnsCounters: (() => Record<string, number>) | null;
  /** Chunks of the store re-hashed by the scrub, and damaged ones mended from their files. */
  storeCounters: () => { scrubbed: number; mended: number };
  /** The store's size on disk, and its free pages. */
  storeFootprint: () => StoreFootprint;
}

/** How long one status serves the scrape of every metric (a scrape reads them one by one). */
const SNAPSHOT_MS = 250;

/**
 * The master's metrics, read from its status when scraped: what it publishes, and every
 * replica's state, lag and silence, for alerts ("a replica behind for 10 minutes").
 */
export function registerMasterMetrics(registry: Registry, d: MasterMetricsDeps): void {
  let snapshot: { at: number; status: MasterStatus } | null = null;
  const status = () => {
    const now = Date.now();
    if (!snapshot || now - snapshot.at > SNAPSHOT_MS) snapshot = { at: now, status: d.status() };
    return snapshot.status;
  };
  const gauge = (name: string, help: string, read: () => number) => scrapedGauge(registry, name, help, read);
  gauge('outpost_master_version', 'The latest version published.', () => status().version);
  gauge('outpost_master_files', 'Files in the latest version.', () => status().files);
  gauge('outpost_master_bytes', 'Bytes in the latest version.', () => status().bytes);
  gauge('outpost_master_ready', '1 once the master has reconciled its content directory.', () =>
    status().ready === false ? 0 : 1,
  );
  gauge(
    'outpost_master_watching',
    '1 while every directory of the content tree is watched (0 while a restart still crawls it).',
    () => (status().watching === false ? 0 : 1),
  );
  gauge(
    'outpost_master_publish_failing',
    '1 while publishing fails (a full disk) and waits to be tried again.',
    () => (status().publishFailure ? 1 : 0),
  );
  gauge(
    'outpost_master_warnings',
    'How many warnings status has now (directories not watched, damaged chunks, a token rotation under way).',
    () => (status().warnings ?? []).length,
  );
  gauge(
    'outpost_master_store_bytes',
    "The store's size on disk (database and WAL).",
    () => d.storeFootprint().bytes,
  );
  gauge(
    'outpost_master_store_free_bytes',
    'Free pages in the store, left by collected versions: reused, or given back by outpost compact.',
    () => d.storeFootprint().freeBytes,
  );
  gauge(
    'outpost_master_unpublished_paths',
    'Paths the master refuses to publish (see status problems).',
    () => status().problemCount ?? 0,
  );

  const byReplica = (read: (r: MasterStatus['replicas'][number]) => number) => () =>
    status().replicas.map((r): [Record<string, string>, number] => [
      { replica: r.name, region: r.region },
      read(r),
    ]);
  const labels = ['replica', 'region'];
  scrapedGauge(
    registry,
    'outpost_fleet_replica_state',
    'Each replica known to the master: 1 for its state now, 0 for the others.',
    () =>
      status().replicas.flatMap((r) =>
        oneHot(ReplicaStateSchema.options, r.state, 'state', { replica: r.name, region: r.region }),
      ),
    [...labels, 'state'],
  );
  scrapedGauge(
    registry,
    'outpost_fleet_replica_lag_versions',
    'Versions a replica is behind the latest.',
    byReplica((r) => r.lagVersions),
    labels,
  );
  scrapedGauge(
    registry,
    'outpost_fleet_replica_version',
    'The version a replica last said it holds.',
    byReplica((r) => r.version),
    labels,
  );
  scrapedGauge(
    registry,
    'outpost_fleet_replica_last_seen_age_seconds',
    'Seconds since the master last heard from a replica (-1: never).',
    byReplica((r) => (r.lastSeenAt === null ? -1 : (Date.now() - Date.parse(r.lastSeenAt)) / 1000)),
    labels,
  );
  scrapedCounter(
    registry,
    'outpost_master_scrubbed_chunks_total',
    "Chunks of the master's store re-hashed by the background scrub.",
    () => d.storeCounters().scrubbed,
  );
  scrapedCounter(
    registry,
    'outpost_master_chunks_mended_total',
    "Damaged chunks of the master's store written anew from their files.",
    () => d.storeCounters().mended,
  );
  const dns = d.dnsCounters;
  if (dns) {
    scrapedCounter(
      registry,
      'outpost_dns_events_total',
      'What the DNS server answered and met, by kind (noerror, nxdomain, refused, truncated, errors…).',
      () => Object.entries(dns()).map(([event, n]): [Record<string, string>, number] => [{ event }, n]),
      ['event'],
    );
  }
}
