import { z } from 'zod';
import { AdvertiseAddress } from './advertise.js';
import { LIMITS } from './limits.js';
import { ChunkRefSchema, ManifestSchema } from './manifest.js';
import { Label, Sha256, VersionNumber } from './scalars.js';

/**
 * Bumped on any incompatible change to the messages below. 2: manifests may come in parts
 * (`part`); a master still serves replicas that say 1, with whole manifests.
 */
export const PROTOCOL_VERSION = 2;

/** The protocols a master speaks, oldest first. */
export const SUPPORTED_PROTOCOLS: readonly number[] = [1, 2];

/** The WebSocket path on the master. */
export const WS_PATH = '/_outpost/ws';

/** WebSocket close codes the master uses, with their meaning. */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  badMessage: 4000,
  unauthorized: 4001,
  protocolMismatch: 4002,
  replaced: 4003,
  /** A link silent past three heartbeats (no hello, or no pings). */
  policyViolation: 1008,
  tooLarge: 1009,
  internalError: 1011,
} as const;

export const LoadSchema = z.object({
  requestsPerSecond: z.number().min(0).max(1e9),
  openConnections: z.number().int().min(0).max(1e9),
});

export const HelloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int().min(0).max(1000),
  name: Label,
  region: Label,
  version: VersionNumber,
  root: Sha256,
  advertise: AdvertiseAddress.optional(),
  /**
   * What this replica takes beyond its protocol version ('prefetch': chunks told ahead of their
   * version). A master that knows none of them ignores the field, as it ignores any unknown one.
   */
  features: z.array(z.string().min(1).max(32)).max(16).optional(),
});

export const WelcomeSchema = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  version: VersionNumber,
  root: Sha256,
});

export const PublishSchema = ManifestSchema.extend({ type: z.literal('publish') });

/** The feature a replica names in its hello to be sent `prefetch` messages. */
export const PREFETCH_FEATURE = 'prefetch';

/**
 * Chunks the master has stored for a version it is still cutting (a large change being read):
 * a replica may fetch them now, so that once the version is cut little is left to fetch.
 * `version` is the number that version will most likely get; chunks of a version that never
 * comes are the replica's to drop. Sent only to replicas that name PREFETCH_FEATURE.
 */
export const PrefetchSchema = z.object({
  type: z.literal('prefetch'),
  version: VersionNumber,
  chunks: z.array(ChunkRefSchema).min(1).max(LIMITS.maxPrefetchChunks),
});

/** The feature a replica names in its hello to be sent `prefetch-later` messages. */
export const PREFETCH_LATER_FEATURE = 'prefetch-later';

/**
 * The chunks told ahead for version `from` or before are now for version `to`: a version was
 * cut (numbered `from`) while the master was still reading the change they are for (a large
 * file in the lane), which will be cut later. Sent before that version's manifest, so the
 * replica keeps what it fetched ahead instead of dropping it at that version and fetching it
 * again with the later one. Sent only to replicas that name PREFETCH_LATER_FEATURE.
 */
export const PrefetchLaterSchema = z
  .object({
    type: z.literal('prefetch-later'),
    from: VersionNumber,
    to: VersionNumber,
  })
  .refine((m) => m.to > m.from, { message: 'to must be past from', path: ['to'] });

export const AckSchema = z.object({ type: z.literal('ack'), version: VersionNumber, root: Sha256 });

export const NackSchema = z.object({
  type: z.literal('nack'),
  version: VersionNumber,
  reason: z.string().min(1).max(LIMITS.maxReasonLength),
});

export const PingSchema = z.object({
  type: z.literal('ping'),
  load: LoadSchema.optional(),
  /** A fault of the replica's own that no sync mends (damage found in its store), for status and DNS. */
  fault: z.string().min(1).max(LIMITS.maxReasonLength).optional(),
});

export const PongSchema = z.object({ type: z.literal('pong'), version: VersionNumber, root: Sha256 });

/** Everything a replica may send. */
export const ReplicaMessageSchema = z.discriminatedUnion('type', [
  HelloSchema,
  AckSchema,
  NackSchema,
  PingSchema,
]);

/** Everything the master may send. */
export const MasterMessageSchema = z.discriminatedUnion('type', [
  WelcomeSchema,
  PublishSchema,
  PongSchema,
  PrefetchSchema,
  PrefetchLaterSchema,
]);

export type Load = z.infer<typeof LoadSchema>;
export type Hello = z.infer<typeof HelloSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Publish = z.infer<typeof PublishSchema>;
export type Prefetch = z.infer<typeof PrefetchSchema>;
export type PrefetchLater = z.infer<typeof PrefetchLaterSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type Nack = z.infer<typeof NackSchema>;
export type Ping = z.infer<typeof PingSchema>;
export type Pong = z.infer<typeof PongSchema>;
export type ReplicaMessage = z.infer<typeof ReplicaMessageSchema>;
export type MasterMessage = z.infer<typeof MasterMessageSchema>;
