import { contentPathProblem, isSha256Hex } from '@outpost/core';
import { z } from 'zod';

/** A lowercase hex SHA-256. */
export const Sha256 = z.string().length(64).refine(isSha256Hex, 'not a lowercase hex SHA-256');

/** A version number: 0 means "nothing yet". */
export const VersionNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * A non-negative whole number as a URL carries it (a query or path parameter): decimal digits
 * only, within the safe range. Coercing with Number() also took `1e3`, `0x10`, ` 7`, `7.0`,
 * `-0` and an empty value (as 0), so one number had many spellings and a typo read as another.
 */
export const DecimalInteger = z
  .string({ error: 'expected one value, in decimal digits' })
  .regex(/^\d+$/, 'expected decimal digits only (no sign, point, exponent, hex or spaces)')
  .refine((s) => Number.isSafeInteger(Number(s)), `expected at most ${Number.MAX_SAFE_INTEGER}`)
  .transform(Number);

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
/**
 * A byte count written for people: `1048576`, `512k`, `10MiB`, `1.5G` (K, M, G are 1024-based,
 * as rsync's --bwlimit; a trailing B or /s is allowed).
 */
export const ByteSize = z.union(
  [
    z.number().int().min(0),
    z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?\s*([kmg]i?)?b?(\/s)?$/i, 'a byte size such as 1048576, 512k or 10MiB')
      .transform((s) => {
        const m = /^(\d+(?:\.\d+)?)\s*([kmg])?/i.exec(s)!;
        const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
        return Math.round(Number(m[1]) * unit);
      }),
  ],
  // Not zod's bare 'Invalid input' for `1e3` or `-1`.
  { error: 'expected a byte size such as 1048576, 512k or 10MiB' },
);

export const EpochMs = z.number().int().min(0).max(8.64e15);
