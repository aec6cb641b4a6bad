/** How long after a refusal is logged for a client the next ones are only counted. */
const QUIET_MS = 60_000;
/** Clients remembered at most: past this, those quiet for a minute are forgotten. */
const MAX_CLIENTS = 1024;

/**
 * Says when a refused client (by address) is worth a log line: its first refusal, then at most
 * one a minute, with how many came meanwhile. A replica left with a wrong or revoked token
 * pulling every 500 ms wrote two warnings a second, for ever; a burst of guesses still shows,
 * counted.
 */
export class RefusalLog {
  readonly #clients = new Map<string, { at: number; since: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A refusal of `client`: the refusals to report now (this one and those held back), or 0 to say nothing. */
  note(client: string): number {
    const now = this.#now();
    const seen = this.#clients.get(client);
    if (seen && now - seen.at < QUIET_MS) {
      seen.since++;
      return 0;
    }
    const count = (seen?.since ?? 0) + 1;
    if (!seen && this.#clients.size >= MAX_CLIENTS) this.#forgetQuiet(now);
    this.#clients.set(client, { at: now, since: 0 });
    return count;
  }

  #forgetQuiet(now: number): void {
    for (const [client, seen] of this.#clients) if (now - seen.at >= QUIET_MS) this.#clients.delete(client);
    // All of them loud: the oldest goes.
    if (this.#clients.size >= MAX_CLIENTS) this.#clients.delete(this.#clients.keys().next().value!);
  }
}
