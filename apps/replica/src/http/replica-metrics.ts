import { ReplicaLinkSchema, ReplicaStateSchema } from '@outpost/protocol';
import { oneHot, type Registry, scrapedCounter, scrapedGauge } from '@outpost/service';
import type { StoreFootprint } from '@outpost/store';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { ReplicaCounters } from './render-status-page.js';

export interface ReplicaMetricsDeps {
  engine: SyncEngine;
  /** What it served and mended since it started, as its status page shows it. */
  counters: () => ReplicaCounters;
  /** True once damage was found in the store (see StoreFault). */
  storeDamaged: () => boolean;
  /** The store's size on disk, and its free pages. */
  storeFootprint: () => StoreFootprint;
  /** What was fetched ahead of versions (see Prefetcher), when it runs. */
  prefetch?: { readonly bytes: number; readonly chunks: number; readonly dropped: number };
}

/**
 * The replica's metrics, read when scraped: the version it serves and how far it lags, its
 * link, what it has served, and the damage found and repaired. Nothing is counted on the
 * request path beyond the integer the load meter already keeps.
 */
export function registerReplicaMetrics(registry: Registry, d: ReplicaMetricsDeps): void {
  const { engine } = d;
  const gauge = (name: string, help: string, read: () => number) => scrapedGauge(registry, name, help, read);
  const counter = (name: string, help: string, read: () => number) =>
    scrapedCounter(registry, name, help, read);
  gauge('outpost_replica_serving_version', 'The version this replica serves.', () => engine.snapshot.version);
  gauge(
    'outpost_replica_master_version',
    "The master's latest version, as last heard (-1: not yet).",
    () => engine.masterVersion ?? -1,
  );
  gauge('outpost_replica_lag_versions', 'Versions behind the master, as last heard (0 until it is).', () =>
    Math.max(0, (engine.masterVersion ?? engine.snapshot.version) - engine.snapshot.version),
  );
  gauge('outpost_replica_files', 'Files in the version served.', () => engine.snapshot.files);
  gauge('outpost_replica_bytes', 'Bytes in the version served.', () => engine.snapshot.bytes);
  gauge(
    'outpost_replica_last_sync_timestamp_seconds',
    'When a version was last applied (0: none yet).',
    () => (engine.lastSyncAt === null ? 0 : engine.lastSyncAt / 1000),
  );
  scrapedGauge(
    registry,
    'outpost_replica_sync_state',
    'The state status reports: 1 for the state now, 0 for the others.',
    () => oneHot(ReplicaStateSchema.options, engine.state, 'state'),
    ['state'],
  );
  scrapedGauge(
    registry,
    'outpost_replica_link',
    'How it hears from the master: 1 for the link now, 0 for the others.',
    () => oneHot(ReplicaLinkSchema.options, engine.link, 'link'),
    ['link'],
  );
  gauge(
    'outpost_replica_applying_bytes_remaining',
    'Bytes still to fetch for the version being applied.',
    () => (engine.applying ? Math.max(0, engine.applying.bytesTotal - engine.applying.bytesDone) : 0),
  );
  gauge(
    'outpost_replica_store_bytes',
    "The store's size on disk (database and WAL).",
    () => d.storeFootprint().bytes,
  );
  gauge(
    'outpost_replica_store_free_bytes',
    'Free pages in the store, left by collected versions: reused, or given back by outpost compact.',
    () => d.storeFootprint().freeBytes,
  );
  gauge('outpost_replica_store_damaged', '1 once damage was found in the store (restart to renew it).', () =>
    d.storeDamaged() ? 1 : 0,
  );
  counter(
    'outpost_replica_http_requests_total',
    'Requests taken, content and admin.',
    () => d.counters().requests,
  );
  gauge('outpost_replica_http_open_connections', 'Connections open now.', () => d.counters().openConnections);
  counter(
    'outpost_replica_damaged_chunks_found_total',
    'Stored chunks found damaged (by a read or the scrub).',
    () => d.counters().damagedFound,
  );
  counter(
    'outpost_replica_damaged_chunks_repaired_total',
    'Damaged chunks fetched again and stored.',
    () => d.counters().damagedRepaired,
  );
  const ahead = d.prefetch;
  if (ahead) {
    counter(
      'outpost_replica_prefetched_bytes_total',
      'Bytes of chunks fetched while the master still read the change they belong to.',
      () => ahead.bytes,
    );
    counter(
      'outpost_replica_prefetch_unused_chunks_total',
      'Chunks fetched ahead that the version applied did not name, dropped again.',
      () => ahead.dropped,
    );
  }
  counter(
    'outpost_replica_scrubbed_chunks_total',
    'Stored chunks re-hashed by the background scrub.',
    () => d.counters().scrubbed,
  );
}
