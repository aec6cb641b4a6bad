import { createHash } from 'node:crypto';
import { bearerIndex } from '@outpost/service';

/**
 * What a replication request authenticated with: no token needed (`open`), the shared token
 * (`current`), the shared one being retired (`previous`), or a replica's own token, which
 * speaks for that replica alone.
 */
export type Credential = 'open' | 'current' | 'previous' | { replica: string; key: string };

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * The master's replication guard: OUTPOST_TOKEN (and OUTPOST_PREVIOUS_TOKEN in a rotation),
 * and each replica's own token from --replica-tokens, which SIGHUP reads again. With none of
 * them set, replication is open.
 */
export class ReplicationAuth {
  readonly #shared: string[];
  /** sha256(token) → replica: a lookup that takes no longer for a near miss than a far one. */
  #own = new Map<string, string>();

  constructor(
    token: string | undefined,
    previousToken: string | undefined,
    own?: ReadonlyMap<string, string>,
  ) {
    this.#shared = token === undefined ? [] : previousToken === undefined ? [token] : [token, previousToken];
    if (own) this.replace(own);
  }

  /** Takes a new set of replicas' own tokens (token → name), as a reload read them. */
  replace(own: ReadonlyMap<string, string>): void {
    this.#own = new Map([...own].map(([token, name]) => [digest(token), name]));
  }

  /** Whether a request with no token is let in. */
  get open(): boolean {
    return this.#shared.length === 0 && this.#own.size === 0;
  }

  /** What the Authorization header authenticates, or null for no accepted token. */
  check(header: string | undefined): Credential | null {
    if (this.open) return 'open';
    const i = bearerIndex(header, this.#shared);
    if (i === 0) return 'current';
    if (i === 1) return 'previous';
    const match = /^Bearer[ ]+(\S.*)$/i.exec(header ?? '');
    if (!match) return null;
    const key = digest(match[1]!.trim());
    const name = this.#own.get(key);
    return name === undefined ? null : { replica: name, key };
  }

  /** Whether a replica's own token still holds, as the last reload read them. */
  holds(credential: Credential): boolean {
    return typeof credential === 'string' || this.#own.get(credential.key) === credential.replica;
  }
}

/** Why `credential` may not speak for replica `name` (a replica's own token names another), or null. */
export function wrongReplica(credential: Credential, name: string): string | null {
  return typeof credential === 'string' || credential.replica === name
    ? null
    : `this replication token is replica ${credential.replica}'s, not ${name}'s`;
}
