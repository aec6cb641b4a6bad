import { z } from 'zod';
import { AdvertiseAddress } from './advertise.js';
import { LIMITS } from './limits.js';
import { ChunkRefSchema } from './manifest.js';
import { DecimalInteger, EpochMs, Label, Sha256, VersionNumber } from './scalars.js';

/** The admin and pull API prefix on both services. */
export const API_PREFIX = '/_outpost/api/v1';

/** An RFC 9457 problem body. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
});

export const ReplicaStateSchema = z.enum(['in-sync', 'syncing', 'behind', 'error', 'offline']);

export const FleetReplicaSchema = z.object({
  name: Label,
  region: Label,
  connected: z.boolean(),
  link: z.enum(['push', 'pull', 'offline']),
  version: VersionNumber,
  root: Sha256,
  lagVersions: z.number().int().min(0),
  lastSeenAt: z.iso.datetime().nullable(),
  state: ReplicaStateSchema,
  error: z.string().nullable(),
  advertise: z.string().nullable(),
});

/** A batch of changed paths the master is publishing now: files examined so far, of all in it. */
export const PublishingSchema = z.object({
  filesDone: z.number().int().min(0),
  filesTotal: z.number().int().min(0),
  since: z.string(),
});

export const PublishFailureSchema = z.object({
  message: z.string(),
  /** When the last attempt failed, and when the next one runs (ISO 8601). */
  at: z.string(),
  retryAt: z.string(),
});

export const MasterStatusSchema = z.object({
  role: z.literal('master'),
  version: VersionNumber,
  root: Sha256,
  files: z.number().int().min(0),
  bytes: z.number().int().min(0),
  replicas: z.array(FleetReplicaSchema),
  /**
   * False while the master starts: it serves its held version (status, replicas, DNS) while
   * it watches and reconciles the content directory. Optional: older masters do not say.
   */
  ready: z.boolean().optional(),
  /**
   * True once every directory of the content tree is watched, so an edit is published as it
   * is made. False while a restart, ready already, still crawls the tree to put its watches
   * in place (an edit meanwhile waits for the walk after the crawl), and while the content
   * directory is watched anew after it became another directory. Optional: older masters do
   * not say.
   */
  watching: z.boolean().optional(),
  /** The batch being published now, if any (a first start's whole tree, say). */
  publishing: PublishingSchema.nullable().optional(),
  /** Why publishing fails (the store refusing writes: a full disk), while a retry is pending. */
  publishFailure: PublishFailureSchema.nullable().optional(),
  /**
   * Paths on disk that are not published, and why (a control character, a name not UTF-8…):
   * the first `PROBLEMS_IN_STATUS` of them; `GET /problems` lists them all.
   */
  problems: z.array(z.object({ path: z.string(), problem: z.string() })).optional(),
  /** How many paths are not published. Optional: older masters listed them all in `problems`. */
  problemCount: z.number().int().min(0).optional(),
  /** What keeps the master from working as it should, short of failing (directories it cannot watch). */
  warnings: z.array(z.string()).optional(),
  /** The --exclude patterns: what is never published. Optional: older masters do not say. */
  exclude: z.array(z.string()).optional(),
});

export const ReplicaLinkSchema = z.enum(['push', 'pull', 'offline']);

/** How far a replica is in fetching the version it is applying. */
export const FetchProgressSchema = z.object({
  /** Files of the change whose chunks are all held. */
  filesDone: z.number().int().min(0),
  filesTotal: z.number().int().min(0),
  /** Bytes of missing chunks fetched so far, of all that were missing. */
  bytesDone: z.number().int().min(0),
  bytesTotal: z.number().int().min(0),
});

/** A version being applied: its fetch's progress, pace and what is left at that pace. */
export const ApplyingSchema = FetchProgressSchema.extend({
  version: VersionNumber,
  /** Bytes fetched per second over the last 5 s (null until a second has passed). */
  bytesPerSecond: z.number().int().min(0).nullable().optional(),
  /**
   * Seconds left for the bytes known to be missing, at that pace (null: no pace yet). A
   * manifest in parts adds to the total part by part, so early on this is a lower bound.
   */
  etaSeconds: z.number().int().min(0).nullable().optional(),
});

/** Chunks fetched ahead of a version the master is still cutting (see the `prefetch` message). */
export const FetchingAheadSchema = z.object({
  /** The newest version chunks were told for. */
  version: VersionNumber,
  /** Chunks fetched and held for versions not yet applied, and their bytes. */
  chunks: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** Chunks told and still to be fetched. */
  queued: z.number().int().min(0),
});

export const ReplicaStatusSchema = z.object({
  role: z.literal('replica'),
  name: Label,
  region: Label,
  version: VersionNumber,
  root: Sha256,
  masterVersion: VersionNumber.nullable(),
  state: ReplicaStateSchema,
  link: ReplicaLinkSchema,
  lastSyncAt: z.iso.datetime().nullable(),
  error: z.string().nullable(),
  files: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** While a version is being applied: which, and how far its fetch is. */
  applying: ApplyingSchema.nullable().optional(),
  /** While the master reads a large change: what of it this replica has fetched ahead. */
  fetchingAhead: FetchingAheadSchema.nullable().optional(),
});

export const VersionSummarySchema = z.object({
  version: VersionNumber,
  root: Sha256,
  createdAt: z.iso.datetime(),
  files: z.number().int().min(0),
  bytes: z.number().int().min(0),
});

export const VersionListSchema = z.array(VersionSummarySchema);

export const VersionDetailSchema = z.object({
  version: VersionNumber,
  root: Sha256,
  entries: z.array(z.object({ path: z.string(), hash: Sha256, size: z.number().int().min(0) })),
});

/** Query of the pull API's manifest endpoint; name/region/root tell the master who pulls. */
export const ManifestQuerySchema = z.object({
  from: DecimalInteger.default(0),
  root: Sha256.optional(),
  name: Label.optional(),
  region: Label.optional(),
  /** Asks for the manifest in parts: the part wanted (the answer says how many there are). */
  part: DecimalInteger.pipe(
    z.number().max(LIMITS.maxManifestParts, `expected at most ${LIMITS.maxManifestParts}`),
  ).optional(),
  /** The version the parts lead to, from the answer to part 0: every part of one manifest. */
  to: DecimalInteger.optional(),
  /** A fault of the replica's own (damage in its store), as its heartbeats say it over a push link. */
  fault: z.string().min(1).max(LIMITS.maxReasonLength).optional(),
  /** Where readers reach the replica, as its hello says over a push link (status and DNS). */
  advertise: AdvertiseAddress.optional(),
});

/** Body of POST /rollback: the kept version whose content becomes the next version. */
/**
 * Any version number: one the master does not keep (0, the empty tree before the first
 * publish, among them) is its 404, as for GET /versions/<n>, not a malformed body.
 */
export const RollbackRequestSchema = z.object({ to: VersionNumber }).strict();

export const RollbackResponseSchema = z.object({
  rolledBackTo: VersionNumber,
  version: VersionNumber,
  root: Sha256,
  /** False when the current content already was that version's. */
  created: z.boolean(),
});

export const ChunkParamsSchema = z.object({ hash: Sha256 });

/** `DELETE /_outpost/api/v1/replicas/<name>`: the replica to forget. */
export const ReplicaParamsSchema = z.object({ name: Label });

/** What the master forgot: the record status showed last. */
export const ForgetReplicaResponseSchema = z.object({
  forgotten: Label,
  region: Label,
  version: VersionNumber,
  lastSeenAt: z.iso.datetime().nullable(),
});

/** `GET /_outpost/api/v1/contents/<sha256>`: a content's chunk list. */
export const ContentChunksSchema = z.object({
  hash: Sha256,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  chunks: z.array(ChunkRefSchema).max(LIMITS.maxChunksPerFile),
});
/** `GET /versions/<n>`: decimal digits only, as `rollback --to` takes them. */
export const VersionParamsSchema = z.object({ n: DecimalInteger });

export type Problem = z.infer<typeof ProblemSchema>;
export type RollbackResponse = z.infer<typeof RollbackResponseSchema>;
export type ForgetReplicaResponse = z.infer<typeof ForgetReplicaResponseSchema>;
export type ReplicaState = z.infer<typeof ReplicaStateSchema>;
export type FleetReplica = z.infer<typeof FleetReplicaSchema>;
export type MasterStatus = z.infer<typeof MasterStatusSchema>;
export type ReplicaLink = z.infer<typeof ReplicaLinkSchema>;
export type ReplicaStatus = z.infer<typeof ReplicaStatusSchema>;
export type ContentChunks = z.infer<typeof ContentChunksSchema>;
export type FetchProgress = z.infer<typeof FetchProgressSchema>;
export type Applying = z.infer<typeof ApplyingSchema>;
export type FetchingAhead = z.infer<typeof FetchingAheadSchema>;
export type VersionSummary = z.infer<typeof VersionSummarySchema>;
export type VersionDetail = z.infer<typeof VersionDetailSchema>;
export type ManifestQuery = z.infer<typeof ManifestQuerySchema>;
export { EpochMs };

/** One replica as the DNS server sees it: answered or not, and why. */
export const DnsReplicaSchema = z.object({
  name: Label,
  region: Label,
  /** The IP address answered for it (null: it has none usable). */
  address: z.string().nullable(),
  in: z.boolean(),
  reason: z.string(),
  /** Relative weight from its reported load (1 = average). */
  weight: z.number(),
  load: z.object({ requestsPerSecond: z.number(), openConnections: z.number() }).nullable(),
});

/** What one name answers now. */
export const DnsNameSchema = z.object({
  name: z.string(),
  kind: z.enum(['apex', 'region', 'replica', 'ns']),
  /** Who answers for it: the region itself, or the fallback taken and why. */
  via: z.string(),
  answers: z.array(
    z.object({
      type: z.enum(['A', 'AAAA']),
      address: z.string(),
      replica: z.string().nullable(),
      /** Expected share of answers (`one`) or of first places (`all`), 0..1. */
      share: z.number(),
    }),
  ),
});

/** GET /_outpost/api/v1/dns on the master. */
export const DnsStatusSchema = z.object({
  zone: z.string(),
  ttl: z.number().int(),
  mode: z.enum(['all', 'one']),
  maxLag: z.number().int(),
  fallback: z.record(z.string(), z.array(z.string())),
  listen: z.object({ udp: z.string().nullable(), tcp: z.string().nullable() }),
  names: z.array(DnsNameSchema),
  replicas: z.array(DnsReplicaSchema),
  counters: z.record(z.string(), z.number()),
});

export type DnsReplica = z.infer<typeof DnsReplicaSchema>;
export type DnsName = z.infer<typeof DnsNameSchema>;
export type DnsStatus = z.infer<typeof DnsStatusSchema>;

/** Status lists at most this many refused paths: a tree of 100,000 unreadable files must not make every status call (and each dashboard refresh) 10 MB. */
export const PROBLEMS_IN_STATUS = 100;

/** `GET /_outpost/api/v1/problems`: every path the master does not publish, in path order. */
export const ProblemListSchema = z.object({
  count: z.number().int().min(0),
  problems: z.array(z.object({ path: z.string(), problem: z.string() })),
});
export type ProblemList = z.infer<typeof ProblemListSchema>;
