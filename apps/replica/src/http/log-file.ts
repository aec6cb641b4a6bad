import { closeSync, openSync, write } from 'node:fs';

const NEWLINE = Buffer.from('\n');

/** Most bytes waiting to be written: past it, text is dropped (a disk that stopped taking it). */
const MAX_QUEUED = 16 * 1024 * 1024;

/**
 * A file appended to in the background, one write at a time, that outlives a failing disk:
 * text a write refuses (a full disk) is dropped and counted, and the next text is tried
 * again, so the file carries on once there is room. `reopen` opens the path anew, for
 * logrotate. (sonic-boom kept refused text and retried it for ever, and lost what followed.)
 */
export class LogFile {
  readonly #path: string;
  #fd: number;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #writing = false;
  #reopenWanted = false;
  #idle: Array<() => void> = [];
  /** A write failed partway: the file ends inside a line, which the next write ends first. */
  #cutLine = false;
  readonly #onError: (err: Error, droppedBytes: number) => void;

  /** Opens `path` for appending (creating it); throws what the open throws. */
  constructor(path: string, onError: (err: Error, droppedBytes: number) => void) {
    this.#path = path;
    this.#onError = onError;
    this.#fd = openSync(path, 'a');
  }

  /** Queues text to be appended. */
  append(text: string): void {
    const buf = Buffer.from(text, 'utf8');
    if (this.#queued + buf.length > MAX_QUEUED) {
      this.#drop(buf.length, new Error(`more than ${MAX_QUEUED} bytes wait to be written`));
      return;
    }
    this.#queue.push(buf);
    this.#queued += buf.length;
    this.#pump();
  }

  /** Opens the path again (after logrotate moved the file), once the write in flight is done. */
  reopen(): void {
    this.#reopenWanted = true;
    this.#pump();
  }

  /** Resolves once everything queued was written (or dropped), then closes the file. */
  async close(): Promise<void> {
    if (this.#writing || this.#queue.length > 0) await new Promise<void>((r) => this.#idle.push(r));
    closeSync(this.#fd);
  }

  #pump(): void {
    if (this.#writing) return;
    if (this.#reopenWanted) this.#swapFile();
    const next = this.#queue.shift();
    if (!next) {
      for (const r of this.#idle.splice(0)) r();
      return;
    }
    this.#writing = true;
    if (this.#cutLine) {
      this.#queued += 1;
      this.#writeAll(Buffer.concat([NEWLINE, next]), 0);
    } else this.#writeAll(next, 0);
  }

  #writeAll(buf: Buffer, offset: number): void {
    write(this.#fd, buf, offset, buf.length - offset, null, (err, written) => {
      // Once a byte is in, the line that was cut is ended (the newline went first).
      if (offset + (written ?? 0) > 0) this.#cutLine = false;
      if (!err && offset + written < buf.length) return this.#writeAll(buf, offset + written);
      this.#queued -= buf.length;
      if (err) {
        if (offset > 0) this.#cutLine = true;
        this.#drop(buf.length - offset, err);
      }
      this.#writing = false;
      this.#pump();
    });
  }

  #swapFile(): void {
    this.#reopenWanted = false;
    let fd: number;
    try {
      fd = openSync(this.#path, 'a');
    } catch (err) {
      // The old file, wherever it was moved, keeps taking lines: better than none.
      this.#onError(err as Error, 0);
      return;
    }
    closeSync(this.#fd);
    this.#fd = fd;
  }

  #drop(bytes: number, err: Error): void {
    this.#onError(err, bytes);
  }
}
