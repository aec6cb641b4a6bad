import { closeSync, openSync, write } from 'node:fs';

const NEWLINE = Buffer.from('\n');

/** Most bytes waiting to be written: past it, text is dropped (a disk that stopped taking it). */
const MAX_QUEUED = 16 * 1024 * 1024;

/**
 * A file appended to in the background, one write at a time, that outlives a failing disk:
 * text a write refuses (a full disk) is dropped and reported, and the next text is tried
 * again, so the file carries on once there is room. `reopen` opens the path anew, for
 * logrotate. (sonic-boom kept refused text and retried it for ever, and lost what followed.)
 */
export class LogFile {
  readonly #path: string;
  #fd: number;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  #reopens: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #idle: Array<() => void> = [];
  /** A write failed partway: the file ends inside a line, which the next write ends first. */
  #cutLine = false;
  readonly #onDropped: (err: Error, droppedBytes: number) => void;

  /** Opens `path` for appending (creating it); throws what the open throws. */
  constructor(path: string, onDropped: (err: Error, droppedBytes: number) => void) {
    this.#path = path;
    this.#onDropped = onDropped;
    this.#fd = openSync(path, 'a');
  }

  /** Queues text to be appended (nothing, once closed). */
  append(text: string): void {
    if (this.#closed) return;
    const buf = Buffer.from(text, 'utf8');
    if (this.#queued + buf.length > MAX_QUEUED) {
      this.#onDropped(new Error(`more than ${MAX_QUEUED} bytes wait to be written`), buf.length);
      return;
    }
    this.#queue.push(buf);
    this.#queued += buf.length;
    this.#pump();
  }

  /**
   * Opens the path again (after logrotate moved the file) once the write in flight is done:
   * what is queued then goes to the new file. Rejects with the open's error, and the old file,
   * wherever it was moved, keeps taking the text.
   */
  reopen(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the log file is closed'));
    const done = new Promise<void>((resolve, reject) => this.#reopens.push({ resolve, reject }));
    this.#pump();
    return done;
  }

  /** Resolves once everything queued was written (or dropped), then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#writing || this.#queue.length > 0) await new Promise<void>((r) => this.#idle.push(r));
    for (const r of this.#reopens.splice(0)) r.reject(new Error('the log file is closed'));
    closeSync(this.#fd);
  }

  #pump(): void {
    if (this.#writing) return;
    if (this.#reopens.length > 0 && !this.#closed) this.#swapFile();
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
        this.#onDropped(err, buf.length - offset);
      }
      this.#writing = false;
      this.#pump();
    });
  }

  #swapFile(): void {
    const waiting = this.#reopens.splice(0);
    let fd: number;
    try {
      fd = openSync(this.#path, 'a');
    } catch (err) {
      for (const w of waiting) w.reject(err as Error);
      return;
    }
    closeSync(this.#fd);
    this.#fd = fd;
    for (const w of waiting) w.resolve();
  }
}
