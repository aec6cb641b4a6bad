/**
 * True when a replica holds what no version of this master can take it forward from: a
 * version past the master's latest, or the latest's number with another root. It happens when
 * the master's store was lost and rebuilt (numbering started again), or a replica was pointed
 * at another master: the replica, whose versions only grow, refuses every version it is sent.
 */
export function heldBeyond(
  held: { version: number; root: string },
  latest: { version: number; root: string },
): boolean {
  return held.version > latest.version || (held.version === latest.version && held.root !== latest.root);
}

/**
 * The furthest past its latest version a master follows a replica's claim. Past it, the claim
 * is not taken (a bug, or a forged hello): one hello must not use up the version numbers,
 * which end at 2^53. 2^32 is more versions than a master publishing every second makes in a
 * century; running out would take two million such jumps.
 */
export const MAX_VERSION_JUMP = 2 ** 32;

/** True when the master may follow a replica's claim: beyond its history, and not implausibly far. */
export function followable(
  held: { version: number; root: string },
  latest: { version: number; root: string },
) {
  return heldBeyond(held, latest) && held.version - latest.version <= MAX_VERSION_JUMP;
}
