import { z } from 'zod';
import { LIMITS } from './limits.js';
import { ManifestSchema } from './manifest.js';
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
  advertise: z.string().max(300).optional(),
});

export const WelcomeSchema = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  version: VersionNumber,
  root: Sha256,
});

export const PublishSchema = ManifestSchema.extend({ type: z.literal('publish') });

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
export const MasterMessageSchema = z.discriminatedUnion('type', [WelcomeSchema, PublishSchema, PongSchema]);

export type Load = z.infer<typeof LoadSchema>;
export type Hello = z.infer<typeof HelloSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Publish = z.infer<typeof PublishSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type Nack = z.infer<typeof NackSchema>;
export type Ping = z.infer<typeof PingSchema>;
export type Pong = z.infer<typeof PongSchema>;
export type ReplicaMessage = z.infer<typeof ReplicaMessageSchema>;
export type MasterMessage = z.infer<typeof MasterMessageSchema>;
