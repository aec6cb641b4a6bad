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
