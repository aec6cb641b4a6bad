/** What the replica presents on each request to its master (pulls, chunk fetches, the upgrade). */
export interface MasterCredentials {
  token: string | undefined;
  /** Names this replica to the master (see replicaUserAgent). */
  userAgent?: string | undefined;
  /** Aborts every request in flight: the replica is stopping (a fetch under --max-rate takes minutes). */
  signal?: AbortSignal | undefined;
}

/**
 * The User-Agent of a replica's requests to its master, in the CLI's style (`outpost-cli
 * (status)`): undici and ws send none of their own, so the master's warnings of a wrong or
 * retired token, and a proxy's access log, could not tell one replica (or Outpost) from another.
 */
export function replicaUserAgent(name: string): string {
  return `outpost-replica (${name})`;
}

/** The headers every request to the master carries: the User-Agent, and the token when there is one. */
export function masterHeaders(o: MasterCredentials): Record<string, string> {
  return {
    ...(o.userAgent ? { 'user-agent': o.userAgent } : {}),
    ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
  };
}
