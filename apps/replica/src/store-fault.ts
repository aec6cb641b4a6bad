import { isStoreDamage, markStoreDamaged } from '@outpost/store';
import type { Logger } from 'pino';

/**
 * Damage SQLite finds deep in a running replica's store (a page of the chunk table overwritten
 * by a failing disk), which a start's own reads never touch. Once found, the replica says so
 * in its status and to the master (which takes it out of DNS), reads of damaged pages answer
 * 503, and the store is marked so that the next start moves it aside and syncs a new one.
 * Before, the first read of such a page threw out of the request and ended the process.
 */
export class StoreFault {
  readonly #file: string;
  readonly #log: Logger;
  #message: string | null = null;

  constructor(file: string, log: Logger) {
    this.#file = file;
    this.#log = log;
  }

  /** What status says while the store is damaged; null while it is not known to be. */
  get message(): string | null {
    return this.#message;
  }

  /** Takes an error of a store read; true when it was damage (reported once, and marked). */
  report(err: unknown, where: string): boolean {
    if (!isStoreDamage(err)) return false;
    if (this.#message !== null) return true;
    // Bounded: the master takes a fault of at most 2,000 characters, with a heartbeat or a pull.
    const why = (err as Error).message.slice(0, 500);
    this.#message = `the store is damaged (${why}, found by ${where}): what lies on damaged pages answers 503; restart the replica to move it aside and sync a new one`;
    this.#log.error({ err: why, where, store: this.#file }, 'the store is damaged; restart to renew it');
    try {
      markStoreDamaged(this.#file, `${why} (found by ${where} while running)`);
    } catch (markErr) {
      this.#log.error(
        { err: (markErr as Error).message },
        'could not mark the store damaged for the next start',
      );
    }
    return true;
  }
}
