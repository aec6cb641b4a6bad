import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { isStoreDamage, type Store } from '@outpost/store';
import type { Logger } from 'pino';

/** What the master's store holds under a chunk address, once checked. */
export type ChunkCheck =
  | { kind: 'ok'; data: Buffer }
  | { kind: 'absent' }
  | { kind: 'damaged'; problem: string };

/** Damaged chunks remembered for status, at most. */
const REMEMBERED = 100;

/**
 * Checks a chunk of the master's own store against its address, and mends a damaged one from
 * the content directory: the files of the current tree that hold it are read where the chunk
 * lies in them, and bytes that hash to the address are written back. Asked on the path a
 * replica takes when a chunk came to it damaged (it then fetches that chunk alone), so the
 * check costs nothing on the path of every chunk. Before, a bit flipped in the master's store
 * was served to every replica, each of which refused the version, again at every retry,
 * until someone ran `outpost verify`.
 */
export class ChunkHealer {
  readonly #o: { store: Store; contentDir: string; log: Logger };
  /** Chunks found damaged and not mended: hash → why. */
  readonly #unmended = new Map<string, string>();
  /** Chunks mended since start. */
  mended = 0;
  /** Damage SQLite itself met in the store (a page, not a chunk's bytes), and where; null when none. */
  #storeDamage: string | null = null;

  constructor(o: { store: Store; contentDir: string; log: Logger }) {
    this.#o = o;
  }

  /** The chunk's bytes, checked (and mended when damaged and the content directory still has them). */
  async check(hash: string): Promise<ChunkCheck> {
    const { store, log } = this.#o;
    let stored: Buffer | undefined;
    let unreadable: string | undefined;
    try {
      stored = store.chunks.get(hash);
    } catch (err) {
      // A damaged page under the row: the copy on disk may still mend it.
      if (!isStoreDamage(err)) throw err;
      unreadable = (err as Error).message;
    }
    if (stored && sha256Hex(stored) === hash) return { kind: 'ok', data: stored };
    const places = store.versions.livePlacesOf(hash);
    if (!stored && !unreadable && places.length === 0) return { kind: 'absent' };
    for (const place of places) {
      const bytes = await readRange(join(this.#o.contentDir, place.path), place.offset, place.size);
      if (!bytes || sha256Hex(bytes) !== hash) continue;
      try {
        store.chunks.replace(hash, bytes);
      } catch (err) {
        // The page the row lies on is damaged too: the bytes are good, so this reader still
        // gets them, and status says the store needs looking at.
        if (!this.storeError(err, 'a mend')) throw err;
        return { kind: 'ok', data: bytes };
      }
      this.mended++;
      this.#unmended.delete(hash);
      log.warn(
        { chunk: hash, path: place.path },
        'mended a damaged chunk of the store from the content directory',
      );
      return { kind: 'ok', data: bytes };
    }
    const what = unreadable ? `unreadable (${unreadable})` : stored ? 'damaged' : 'missing';
    const problem = `chunk ${hash} is ${what} in the master's store, and no file of the content directory still holds its bytes`;
    if (!this.#unmended.has(hash)) {
      log.error({ chunk: hash, places: places.map((p) => p.path) }, 'a chunk of the store is damaged');
      if (this.#unmended.size < REMEMBERED) this.#unmended.set(hash, problem);
    }
    return { kind: 'damaged', problem };
  }

  /** Takes an error a store read threw outside a chunk's check (the scrub's walk); true when it was damage. */
  storeError(err: unknown, where: string): boolean {
    if (!isStoreDamage(err)) return false;
    if (this.#storeDamage === null) {
      this.#storeDamage = `the master's store is damaged (${(err as Error).message.slice(0, 500)}, found by ${where}). Run \`outpost verify\` on its --data; what lies on damaged pages cannot be served`;
      this.#o.log.error({ err: (err as Error).message, where }, 'the store is damaged');
    }
    return true;
  }

  /**
   * What status warns of: damage in the store; damaged chunks a current file still names and
   * that were not mended; and those only kept versions need (a rollback to them is refused).
   */
  warnings(): string[] {
    const out = this.#storeDamage === null ? [] : [this.#storeDamage];
    const live: string[] = [];
    const kept: string[] = [];
    for (const [hash, problem] of this.#unmended) {
      if (this.#o.store.versions.livePlacesOf(hash, 1).length > 0) live.push(problem);
      // Still stored: some kept version needs it (collection drops what none does).
      else if (this.#o.store.chunks.has(hash)) kept.push(hash);
      else this.#unmended.delete(hash);
    }
    if (live.length > 0)
      out.push(
        `${live.length === 1 ? 'a chunk' : `${live.length} chunks`} of the master's store found damaged, which replicas cannot have: ${live[0]}. Run \`outpost verify\` on the master's --data; \`touch\` the file in the content directory to have it read and published again`,
      );
    if (kept.length > 0)
      out.push(
        `${kept.length === 1 ? 'a chunk' : `${kept.length} chunks`} of the master's store found damaged that only older kept versions need (chunk ${kept[0]}): a rollback to those versions is refused. Run \`outpost verify\` on the master's --data to see which`,
      );
    return out;
  }
}

/** `size` bytes of a file from `offset`; null when the file is gone, shorter, or unreadable. */
async function readRange(file: string, offset: number, size: number): Promise<Buffer | null> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // O_NONBLOCK: a named pipe put in the file's place must not hold the mend (and a thread)
    // until some writer opens it; it is no file to mend from.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!(await handle.stat()).isFile()) return null;
    const buf = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buf, 0, size, offset);
    return bytesRead === size ? buf : null;
  } catch (err) {
    // The file moved, went, or cannot be read: it cannot mend the chunk.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'ELOOP')
      return null;
    throw err;
  } finally {
    await handle?.close();
  }
}
