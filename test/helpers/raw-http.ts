import { connect, type Socket } from 'node:net';

/**
 * A raw HTTP/1.1 client on one `net` socket, for tests that must put bytes on the wire exactly
 * as written. undici's `path` option goes through WHATWG URL parsing: it resolves `..` and
 * `%2e%2e`, turns `\` into `/`, drops tabs and `#…`, and re-encodes non-ASCII, so a traversal
 * vector sent through it never reaches the server as written. Here nothing is normalised.
 */
export interface RawResponse {
  status: number;
  /** The status line and header lines, as received (latin1). */
  head: string;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class RawConnection {
  readonly socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  #closedAt = 0;
  #wake: (() => void) | null = null;
  readonly opened = Date.now();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#notify();
    });
    // The server may reset a connection it refuses; that is a close like any other here.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      this.#closedAt = Date.now();
      this.#notify();
    });
  }

  /** Opens a connection to the host and port of `url`. */
  static open(url: string): Promise<RawConnection> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect({ host: u.hostname, port: Number(u.port) }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet consumed by readResponse. */
  get pending(): Buffer {
    return this.#buf;
  }

  write(data: string | Buffer): void {
    if (!this.#closed) this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Writes `GET <target> HTTP/1.1` with a Host header; the target goes out byte for byte (latin1). */
  get(target: string, extra = ''): void {
    this.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
  }

  /**
   * Reads the next whole response (Content-Length, chunked or until close). Null when the
   * connection closed before a response began; throws on a timeout or a truncated response.
   */
  async readResponse(o: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse | null> {
    const deadline = Date.now() + (o.timeoutMs ?? 5000);
    for (;;) {
      const parsed = this.#tryParse(o.head ?? false);
      if (parsed) return parsed;
      if (this.#closed) {
        if (this.#buf.length === 0) return null;
        throw new Error(`connection closed mid-response: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      }
      if (!(await this.#nextEvent(deadline - Date.now()))) {
        throw new Error(`no complete response in time; got ${JSON.stringify(this.#buf.toString('latin1'))}`);
      }
    }
  }

  /** Resolves to how many ms after `since` the server closed the connection; rejects after timeoutMs. */
  async waitClosed(timeoutMs: number, since = Date.now()): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (!(await this.#nextEvent(deadline - Date.now())) && !this.#closed) {
        throw new Error(`connection still open after ${timeoutMs} ms`);
      }
    }
    return this.#closedAt - since;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #notify() {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Waits for data or close; false on timeout. */
  #nextEvent(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
  }

  #tryParse(isHead: boolean): RawResponse | null {
    const end = this.#buf.indexOf(HEAD_END);
    if (end === -1) return null;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 200))}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    const rest = this.#buf.subarray(end + 4);
    let body: Buffer;
    let used: number;
    if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
      used = 0;
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let at = 0;
      for (;;) {
        const eol = rest.indexOf('\r\n', at);
        if (eol === -1) return null;
        const size = Number.parseInt(rest.subarray(at, eol).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        if (size === 0) {
          const trailerEnd = rest.indexOf(HEAD_END, eol);
          const simpleEnd = rest.subarray(eol, eol + 4).equals(HEAD_END) ? eol + 4 : -1;
          if (simpleEnd !== -1) used = simpleEnd;
          else if (trailerEnd !== -1) used = trailerEnd + 4;
          else return null;
          break;
        }
        if (rest.length < eol + 2 + size + 2) return null;
        parts.push(rest.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (rest.length < len) return null;
      body = Buffer.from(rest.subarray(0, len));
      used = len;
    } else {
      // No framing: the body runs to the close.
      if (!this.#closed) return null;
      body = Buffer.from(rest);
      used = rest.length;
    }
    this.#buf = this.#buf.subarray(end + 4 + used);
    return { status, head, headers, body };
  }
}

/** Sends one GET with a raw target on a fresh connection and reads the answer. */
export async function rawGet(url: string, target: string, extra = ''): Promise<RawResponse | null> {
  const c = await RawConnection.open(url);
  try {
    c.get(target, extra);
    return await c.readResponse();
  } finally {
    c.destroy();
  }
}
