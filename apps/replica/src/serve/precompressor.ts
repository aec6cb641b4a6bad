import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { sha256Hex, type TreeEntry } from '@outpost/core';
import type { Store } from '@outpost/store';
import type { Logger } from 'pino';
import type { Coding } from './encoding.js';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** A coding is kept only if it saves at least this share of the bytes. */
const WORTH = 0.9;

/**
 * Computes compressed copies of contents in the background, once per content and coding,
 * and keeps them in the store: readers never wait for a compression, and none is repeated.
 */
export class Precompressor {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #queue: { entry: TreeEntry; coding: Coding }[] = [];
  readonly #queued = new Set<string>();
  #running = false;
  #closed = false;

  constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Asks for a coding of a content; returns at once. */
  request(entry: TreeEntry, coding: Coding): void {
    const key = `${entry.hash}:${coding}`;
    if (this.#closed || this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push({ entry, coding });
    if (!this.#running) void this.#drain();
  }

  /** Stops taking work; resolves when the current job is done. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    while (this.#running) await new Promise((r) => setTimeout(r, 5));
  }

  async #drain() {
    this.#running = true;
    try {
      for (let job = this.#queue.shift(); job && !this.#closed; job = this.#queue.shift()) {
        await this.#compress(job.entry, job.coding).catch((err) =>
          this.#log.warn({ err, path: job?.entry.path }, 'precompression failed'),
        );
        this.#queued.delete(`${job.entry.hash}:${job.coding}`);
      }
    } finally {
      this.#running = false;
    }
  }

  async #compress(entry: TreeEntry, coding: Coding) {
    if (this.#store.encodings.get(entry.hash, coding)) return;
    const parts: Buffer[] = [];
    for (const c of entry.chunks) {
      const data = this.#store.chunks.get(c.hash);
      // Never compress damaged bytes: the copy would carry a checksum of its own, and pass.
      if (!data || data.length !== c.size || sha256Hex(data) !== c.hash) return;
      parts.push(data);
    }
    const body = Buffer.concat(parts);
    const coded =
      coding === 'br'
        ? await brotli(body, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: 9,
              [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
              [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
            },
          })
        : await gz(body, { level: 9 });
    if (this.#closed) return;
    this.#store.encodings.put(entry.hash, coding, coded.length <= body.length * WORTH ? coded : null);
  }
}
