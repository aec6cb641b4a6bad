import { API_PREFIX, describeTlsTrouble } from '@outpost/protocol';
import type { Logger } from 'pino';
import { PullError } from './pull-client.js';

/** How often the same trouble is logged again while it lasts. */
const RELOG_MS = 60_000;

/** What keeps a replica from its master, said so an admin knows what to fix. */
export function describeLinkFailure(err: unknown, master: string): string {
  if (err instanceof PullError && err.status !== undefined) {
    if (err.status === 401) return 'master refused our token (401)';
    if (err.status === 403) return `master refused us (403): ${err.detail ?? err.message}`;
    if (err.status === 404)
      return `${master} answers, but not as an outpost master (GET ${API_PREFIX}/manifest: 404): is --master another replica's address, or another server's?`;
    return `the master at ${master} answered ${err.status}`;
  }
  if (err instanceof PullError)
    return `${master} answered with no manifest (${err.message}): is --master an outpost master?`;
  const e = err as (Error & { code?: string; cause?: { code?: string; message?: string } }) | undefined;
  const code = e?.code ?? e?.cause?.code ?? '';
  const detail = e?.cause?.message ?? e?.message ?? String(err);
  if (code === 'ECONNREFUSED')
    return `cannot reach the master at ${master}: connection refused (is it running, on that port?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `cannot reach the master at ${master}: its host name does not resolve`;
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
    return `cannot reach the master at ${master}: ${code === 'UND_ERR_CONNECT_TIMEOUT' ? 'no answer to connect (a firewall dropping packets, or a host that is down?)' : 'it took the connection but did not answer in time (stopped, overloaded, or a proxy in between that hangs?)'}`;
  const tls = describeTlsTrouble(code, detail, master);
  if (tls !== null) return tls;
  // An HTTPS server sent plain HTTP closes the connection without a word (the CLI says so too).
  if (code === 'UND_ERR_SOCKET' && /^http:/i.test(master))
    return `cannot reach the master at ${master}: ${detail} (does it serve HTTPS? then --master ${master.replace(/^http:/i, 'https:')})`;
  return `cannot reach the master at ${master}: ${detail}`;
}

/**
 * Why the replica cannot reach its master, while it cannot: said in status, and logged when
 * it starts, when it changes, and once a minute while it lasts. A mistyped --master (a wrong
 * port, a replica's address) used to leave the replica offline with no error and no word in
 * its log above debug.
 */
export class LinkTrouble {
  readonly #log: Logger;
  readonly #master: string;
  #message: string | null = null;
  #since = 0;
  #attempts = 0;
  /** When each message was last logged: one outage may alternate between two (a reset, a close). */
  readonly #loggedAt = new Map<string, number>();

  constructor(log: Logger, master: string) {
    this.#log = log;
    this.#master = master;
  }

  /** What status says; null while the master is reached. */
  get message(): string | null {
    return this.#message;
  }

  /** An attempt to reach the master failed. */
  failed(err: unknown, now = Date.now()): void {
    const message = describeLinkFailure(err, this.#master);
    if (this.#message === null) this.#since = now;
    this.#attempts++;
    // Said once a minute each: a link refused by turns with 'other side closed' and 'read
    // ECONNRESET' had been logged at almost every attempt, each taken for a change.
    if (now - (this.#loggedAt.get(message) ?? Number.NEGATIVE_INFINITY) >= RELOG_MS) {
      this.#log.warn({ attempts: this.#attempts, since: new Date(this.#since).toISOString() }, message);
      this.#loggedAt.set(message, now);
    }
    this.#message = message;
  }

  /** The master was reached. */
  reached(): void {
    if (this.#message !== null) this.#log.info({ attempts: this.#attempts }, 'master reached again');
    this.#message = null;
    this.#attempts = 0;
    this.#loggedAt.clear();
  }
}
