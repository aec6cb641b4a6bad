import type { TokenBucket } from '@outpost/core';
import { API_PREFIX, LIMITS, type Manifest, ManifestSchema } from '@outpost/protocol';
import { request } from 'undici';
import { type MasterCredentials, masterHeaders } from './master-headers.js';
import { readPaced } from './paced-body.js';

/** Thrown when the pull API did not give a usable manifest. */
export class PullError extends Error {
  override name = 'PullError';
  constructor(
    message: string,
    readonly status?: number,
    /** The `detail` of the master's problem body, when it sent one. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The `detail` of a problem+json body, or undefined for any other body. */
function problemDetail(text: string): string | undefined {
  try {
    const detail = (JSON.parse(text) as { detail?: unknown } | null)?.detail;
    return typeof detail === 'string' ? detail : undefined;
  } catch {
    // Not JSON (a proxy's HTML page): said as it came.
    return undefined;
  }
}

export interface PullTarget extends MasterCredentials {
  master: string;
  name: string;
  region: string;
  /** Paces reading the manifest (--max-rate), with the replica's other fetches. */
  limiter?: TokenBucket | undefined;
  /** A fault of the replica's own to tell the master (damage in its store): pulls say it as heartbeats do. */
  fault?: string | null;
  /** Where readers reach this replica (`--advertise`): pulls say it as the hello does, for DNS. */
  advertise?: string | undefined;
}

/**
 * Asks the master's pull API for the manifest from what this replica holds: in parts when
 * `part` is given (part 0 names the version every later part must ask for as `to`).
 */
export async function pullManifest(
  t: PullTarget,
  held: { version: number; root: string },
  want?: { part: number; to?: number },
): Promise<Manifest> {
  const q = new URLSearchParams({
    from: String(held.version),
    root: held.root,
    name: t.name,
    region: t.region,
  });
  if (t.fault) q.set('fault', t.fault);
  if (t.advertise) q.set('advertise', t.advertise);
  if (want) q.set('part', String(want.part));
  if (want?.to !== undefined) q.set('to', String(want.to));
  const res = await request(`${t.master}${API_PREFIX}/manifest?${q}`, {
    headers: masterHeaders(t),
    headersTimeout: 15_000,
    bodyTimeout: 120_000,
    signal: t.signal,
  });
  if (res.statusCode !== 200) {
    const text = await res.body.text().catch(() => '');
    const detail = problemDetail(text);
    throw new PullError(
      `master answered ${res.statusCode}: ${detail ?? text.slice(0, 200)}`,
      res.statusCode,
      detail,
    );
  }
  const text = (await readPaced(res.body, t.limiter, LIMITS.maxMasterMessageBytes)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PullError(`manifest is not JSON: ${(err as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw new PullError(`malformed manifest: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
