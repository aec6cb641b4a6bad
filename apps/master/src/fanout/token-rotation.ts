/** Names shown in the warning at most; the rest are counted. */
const NAMES_SHOWN = 10;

/**
 * What status says while OUTPOST_PREVIOUS_TOKEN is set: the replicas still presenting it; or,
 * when none seen since the start does, those not seen since (they may still hold it); or that
 * the rotation can be finished.
 */
export function rotationWarning(
  stillOnPrevious: readonly string[],
  notSeenSinceStart: readonly string[] = [],
): string {
  const n = stillOnPrevious.length;
  if (n > 0) {
    return `${n} replica${n === 1 ? '' : 's'} still present${n === 1 ? 's' : ''} the previous replication token (OUTPOST_PREVIOUS_TOKEN): ${names(stillOnPrevious)}; give ${n === 1 ? 'it' : 'them'} OUTPOST_TOKEN's value and restart ${n === 1 ? 'it' : 'them'}`;
  }
  const u = notSeenSinceStart.length;
  if (u > 0) {
    return `no replica seen since the master started presents OUTPOST_PREVIOUS_TOKEN, but ${u} replica${u === 1 ? '' : 's'} (${names(notSeenSinceStart)}) ${u === 1 ? 'has' : 'have'} not been seen since and may still hold it: keep it until they have been, or forget them`;
  }
  return 'OUTPOST_PREVIOUS_TOKEN is still accepted, and every replica the master knows has been seen since it started without it: unset it and restart the master to finish the rotation';
}

/** Up to ten names, and how many more: `uk-london, us-west`, or `… and 3 more`. */
function names(list: readonly string[]): string {
  const shown = list.slice(0, NAMES_SHOWN).join(', ');
  return list.length > NAMES_SHOWN ? `${shown} and ${list.length - NAMES_SHOWN} more` : shown;
}
