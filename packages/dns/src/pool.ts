import { addressBody } from './records.js';
import { Rotation } from './rotation.js';
import type { Target } from './zone-view.js';

/**
 * What one name answers for one address family, ready for a query: its targets, their records
 * encoded, and where its rotation stands. A query touches only the records it returns.
 */
export interface Pool {
  /** All of one family (4 or 6). */
  targets: Target[];
  /** The encoded record (type, class, TTL, RDATA) of each target, in the same order. */
  bodies: Buffer[];
  ttl: number;
  rotation: Rotation;
}

/**
 * The pool of `targets` (one family) for a rebuilt view. `previous` is the same name's pool in
 * the view before: reused as it is when nothing changed, else its rotation carries over by
 * address, so a rebuild (every few tens of ms while queries come) never restarts the rotation.
 */
export function buildPool(targets: Target[], ttl: number, previous: Pool | null | undefined): Pool {
  if (previous && previous.ttl === ttl && sameTargets(previous.targets, targets)) return previous;
  const bodies = targets.map((t) => addressBody(t.address, t.family, ttl));
  // A lone target (each replica's own name) always answers itself: no state of its own.
  if (targets.length === 1) return { targets, bodies, ttl, rotation: ALONE };
  const weights = targets.map((t) => t.weight);
  if (!previous) return { targets, bodies, ttl, rotation: new Rotation(weights) };
  const stood = new Map<string, number>();
  for (const [i, t] of previous.targets.entries()) stood.set(t.address, previous.rotation.passOf(i));
  const carried = Float64Array.from(targets, (t) => stood.get(t.address) ?? Number.NaN);
  return { targets, bodies, ttl, rotation: new Rotation(weights, carried) };
}

/** The rotation of one: its pick is always that one, so every lone target shares it. */
const ALONE = new Rotation([1]);

function sameTargets(a: Target[], b: Target[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (a[i]!.address !== b[i]!.address || a[i]!.weight !== b[i]!.weight) return false;
  return true;
}
