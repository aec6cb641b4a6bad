import { contentPathProblem, isSha256Hex } from '@outpost/core';
import { z } from 'zod';

/** A lowercase hex SHA-256. */
export const Sha256 = z.string().length(64).refine(isSha256Hex, 'not a lowercase hex SHA-256');

/** A version number: 0 means "nothing yet". */
export const VersionNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A relative content path that is safe to publish and serve. */
export const ContentPath = z
  .string()
  .max(8192)
  .superRefine((value, ctx) => {
    const problem = contentPathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `bad path: ${problem}` });
  });

/** A replica or region name: a DNS label, so it can name a host under the zone. */
export const Label = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens, at most 63');

/** Milliseconds since the epoch. */
export const EpochMs = z.number().int().min(0).max(8.64e15);
