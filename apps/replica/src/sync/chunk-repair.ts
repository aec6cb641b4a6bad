import type { Store } from '@outpost/store';
import type { Logger } from 'pino';

/**
 * Repairs damaged chunks: the bad copy is dropped at once (so it can never be served again)
 * and a verified copy is fetched from the master, once per chunk however many readers hit it.
 */
export class ChunkRepair {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #fetch: (hash: string, size: number) => Promise<Buffer>;
  readonly #inFlight = new Map<string, Promise<boolean>>();
  found = 0;
  repaired = 0;

  readonly #onStoreError: (err: unknown, where: string) => boolean;

  constructor(
    store: Store,
    log: Logger,
    fetch: (hash: string, size: number) => Promise<Buffer>,
    onStoreError: (err: unknown, where: string) => boolean = () => false,
  ) {
    this.#store = store;
    this.#log = log;
    this.#fetch = fetch;
    this.#onStoreError = onStoreError;
  }

  /** Reports a damaged chunk; resolves true once a good copy is stored again. */
  damaged(hash: string, size: number, where: string): Promise<boolean> {
    const pending = this.#inFlight.get(hash);
    if (pending) return pending;
    this.found++;
    this.#log.error({ chunk: hash, where }, 'damaged chunk found; fetching it again');
    try {
      this.#store.chunks.delete(hash);
    } catch (err) {
      // The chunk's pages themselves are damaged: a good copy could not be stored over them.
      if (!this.#onStoreError(err, 'a repair'))
        this.#log.error({ chunk: hash, err: (err as Error).message }, 'could not drop a damaged chunk');
      return Promise.resolve(false);
    }
    const run = this.#fetch(hash, size)
      .then((data) => {
        this.#store.chunks.put(hash, data);
        this.repaired++;
        this.#log.info({ chunk: hash }, 'damaged chunk repaired');
        return true;
      })
      .catch((err) => {
        this.#log.error({ chunk: hash, err: (err as Error).message }, 'could not repair chunk yet');
        return false;
      })
      .finally(() => this.#inFlight.delete(hash));
    this.#inFlight.set(hash, run);
    return run;
  }
}
