import { bearerIndex } from '@outpost/service';

/** Which replication token a request presents: none needed, the current one, the one being retired. */
export type TokenUsed = 'open' | 'current' | 'previous';

/** Which token the Authorization header carries, or null when it carries no accepted one. */
export function tokenUsed(
  header: string | undefined,
  token: string | undefined,
  previousToken: string | undefined,
): TokenUsed | null {
  if (token === undefined) return 'open';
  const i = bearerIndex(header, previousToken === undefined ? [token] : [token, previousToken]);
  return i === 0 ? 'current' : i === 1 ? 'previous' : null;
}

/** Names shown in the warning at most; the rest are counted. */
const NAMES_SHOWN = 10;

/**
 * What status says while OUTPOST_PREVIOUS_TOKEN is set: the replicas still presenting it, or
 * that none seen since the start does, so the rotation can be finished.
 */
export function rotationWarning(stillOnPrevious: readonly string[]): string {
  if (stillOnPrevious.length === 0) {
    return 'OUTPOST_PREVIOUS_TOKEN is still accepted, and no replica seen since the master started presents it: unset it and restart the master to finish the rotation';
  }
  const shown = stillOnPrevious.slice(0, NAMES_SHOWN).join(', ');
  const more =
    stillOnPrevious.length > NAMES_SHOWN ? ` and ${stillOnPrevious.length - NAMES_SHOWN} more` : '';
  const n = stillOnPrevious.length;
  return `${n} replica${n === 1 ? '' : 's'} still present${n === 1 ? 's' : ''} the previous replication token (OUTPOST_PREVIOUS_TOKEN): ${shown}${more}; give ${n === 1 ? 'it' : 'them'} OUTPOST_TOKEN's value and restart ${n === 1 ? 'it' : 'them'}`;
}
