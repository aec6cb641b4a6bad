import { isUtf8 } from 'node:buffer';
import { mkdirSync } from 'node:fs';
import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { ConfigError } from '@outpost/protocol';
import type { Logger } from 'pino';
import type { Answered } from './direct-lane.js';
import { LogFile } from './log-file.js';

/** `combined`: the line of nginx's and Apache's default access log; `json`: one object a line. */
export type AccessLogFormat = 'combined' | 'json';

/** One response, as the access log records it. */
export interface AccessEntry {
  /** When the response ended (or was cut), in ms since the epoch. */
  time: number;
  remote: string;
  method: string;
  url: string;
  httpVersion: string;
  status: number;
  /**
   * Body bytes sent: of a response sent whole, what it declared (0 for HEAD, 304 and 204); of
   * one cut short, what went to its connection before the cut, as nginx's $body_bytes_sent.
   */
  bytes: number;
  referer: string | undefined;
  userAgent: string | undefined;
  /** From the request's arrival to the response's end. */
  ms: number;
  /** The version the body came from (X-Outpost-Version); undefined for answers without one. */
  version: string | undefined;
  /** The connection closed before the whole response was handed to it. */
  aborted: boolean;
}

/** Printable ASCII but `"` and `\`: what a field holds as it is, almost always. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

let cachedSecond = -1;
let cachedTime = '';

/** `27/Nov/2026:16:14:02 +0000`, nginx's `$time_local` (in UTC: servers of a fleet agree). */
export function clfTime(ms: number): string {
  // Made once a second: a busy replica logs thousands of lines in each.
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedTime = formatClfTime(new Date(ms));
  }
  return cachedTime;
}

function formatClfTime(d: Date): string {
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/**
 * A value between quotes in a combined line, escaped as nginx does (`"`, `\` and bytes outside
 * printable ASCII as \xHH), so no header can end the field, or the line, early. `v` is as
 * node:http hands a header or the request target over: each byte of the wire a character
 * (latin1), so 'latin1' gives those bytes back (UTF-8 would encode them a second time).
 */
export function clfQuoted(v: string | undefined): string {
  if (v === undefined || v === '') return '"-"';
  if (PLAIN.test(v)) return `"${v}"`;
  let out = '';
  for (const byte of Buffer.from(v, 'latin1')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x22 || byte === 0x5c
        ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return `"${out}"`;
}

/** nginx's `combined` line: remote - - [time] "request" status bytes "referer" "user agent". */
export function formatCombined(e: AccessEntry): string {
  const request = clfQuoted(`${e.method} ${e.url} HTTP/${e.httpVersion}`);
  const bytes = String(e.bytes);
  return `${e.remote} - - [${clfTime(e.time)}] ${request} ${e.status} ${bytes} ${clfQuoted(e.referer)} ${clfQuoted(e.userAgent)}\n`;
}

/** Any byte outside ASCII, in a string that holds a byte a character. */
const NON_ASCII = /[\x80-\uffff]/;

/**
 * The text a reader sent, for the json line: node:http hands a header (and the target) over a
 * byte a character (latin1), so bytes that are UTF-8, as clients send it, are decoded as such
 * ('ua\xC3\xA9' is "uaé", not "uaÃ©"); other bytes outside ASCII, and `\` then, are written
 * `\xHH`, as in the combined line.
 */
export function wireText(v: string): string;
export function wireText(v: string | undefined): string | undefined;
export function wireText(v: string | undefined): string | undefined {
  if (v === undefined || !NON_ASCII.test(v)) return v;
  const bytes = Buffer.from(v, 'latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  for (const byte of bytes)
    out +=
      byte > 0x7f || byte === 0x5c
        ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  return out;
}

/** One JSON object a line, with what combined leaves out: the version served, time taken, a cut. */
export function formatJson(e: AccessEntry): string {
  return `${JSON.stringify({
    time: new Date(e.time).toISOString(),
    remote: e.remote,
    method: e.method,
    url: wireText(e.url),
    status: e.status,
    bytes: e.bytes,
    ms: Math.round(e.ms * 1000) / 1000,
    version: e.version === undefined ? null : Number(e.version),
    referer: wireText(e.referer) ?? null,
    userAgent: wireText(e.userAgent) ?? null,
    ...(e.aborted ? { aborted: true } : {}),
  })}\n`;
}

/**
 * Body bytes a response cut short had sent: what its connection was sent since the response
 * began, less its head (node:http keeps the head it wrote as `_header`, as its own
 * ServerResponse checks it); 0 when its head never went out.
 */
function bodyBytesSent(res: ServerResponse, sentBefore: number): number {
  const head = (res as ServerResponse & { _header?: string | null })._header;
  if (!res.headersSent || typeof head !== 'string') return 0;
  const sent = (res.socket?.bytesWritten ?? sentBefore) - sentBefore - Buffer.byteLength(head, 'latin1');
  return Math.max(0, sent);
}

/** Body bytes a response that ended whole sent, from what it declared. */
function bodyBytes(req: IncomingMessage, res: ServerResponse, length: unknown): number {
  if (req.method === 'HEAD' || res.statusCode === 304 || res.statusCode === 204) return 0;
  return Number(length ?? 0) || 0;
}

/** What a response being tracked carries until it closes. */
interface Pending {
  log: AccessLog;
  req: IncomingMessage;
  /** Read as the request comes: a connection cut before the response ends has none by then. */
  remote: string;
  /**
   * The target as received (nginx's $request), before the replica rewrites an absolute-form
   * one to its path for routing.
   */
  url: string | undefined;
  start: number;
  /** What the connection had been sent before this response (responses on one connection come one at a time). */
  sentBefore: number;
  /** Headers given to `writeHead` itself, which `getHeader` does not see. */
  head: OutgoingHttpHeaders | undefined;
}

const PENDING = Symbol('outpost.access');
const FLUSH_CHARS = 64 * 1024;
const FLUSH_MS = 1000;
/**
 * How long `close` waits for the responses still open: those the stop cut close on the loop's
 * next turns, after the server's own 'close' (which ends the drain) was emitted.
 */
const CLOSE_WAIT_MS = 1000;
type Tracked = ServerResponse & { [PENDING]: Pending };
const plainWriteHead = ServerResponse.prototype.writeHead;

/**
 * `writeHead` for a tracked response: the content handler and fastify pass their headers to
 * it, so they are caught on their way. Shared by every response, as `closed` is: tracking a
 * request makes no closure.
 */
function writeHeadCatching(this: Tracked, ...args: unknown[]) {
  const h = args.find((a) => a !== null && typeof a === 'object' && !Array.isArray(a));
  if (h) this[PENDING].head = h as OutgoingHttpHeaders;
  return (plainWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
}

function closed(this: Tracked) {
  const p = this[PENDING];
  p.log.record(this, p);
}

/**
 * The replica's access log: a line for every response, written in the background (buffered
 * up to 64 KiB, flushed at least every second) so that readers never wait on the disk.
 */
export class AccessLog {
  readonly #file: LogFile;
  readonly #format: (e: AccessEntry) => string;
  readonly #path: string;
  readonly #log: Logger;
  #errorLoggedAt = 0;
  #droppedBytes = 0;
  #lastError: Error | null = null;
  // Lines are gathered here and handed over 64 KiB at a time, or once a second: a system call
  // costs tens of µs on such a machine.
  #lines: string[] = [];
  #chars = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Responses tracked and not closed yet; `close` waits for them (a counter: no per-request set). */
  #open = 0;
  /** Called by the last of them to close, while `close` waits. */
  #drained: (() => void) | undefined;

  /** Opens (creates) `path` for appending; a file that cannot be opened is a ConfigError. */
  constructor(path: string, format: AccessLogFormat, log: Logger) {
    this.#format = format === 'json' ? formatJson : formatCombined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#file = new LogFile(path, (err, bytes) => this.#failed(err, bytes));
    } catch (err) {
      throw new ConfigError(`--access-log ${path}: ${(err as Error).message}`);
    }
    this.#path = path;
    this.#log = log;
  }

  // A full disk must not end the replica: readers are still served, and it says so at once,
  // then at most once a minute, with the bytes of lines dropped since it last said so.
  #failed(err: Error, bytes: number): void {
    this.#droppedBytes += bytes;
    this.#lastError = err;
    this.#reportDropped();
  }

  #reportDropped(): void {
    if (this.#droppedBytes === 0 || Date.now() - this.#errorLoggedAt < 60_000) return;
    this.#errorLoggedAt = Date.now();
    this.#log.error(
      { err: this.#lastError?.message, path: this.#path, droppedBytes: this.#droppedBytes },
      'cannot write the access log; its lines are dropped until it can',
    );
    this.#droppedBytes = 0;
  }

  /** Notes a request as it arrives; its line is written when its response ends or is cut. */
  track(req: IncomingMessage, res: ServerResponse): void {
    const tracked = res as Tracked;
    tracked[PENDING] = {
      log: this,
      req,
      remote: req.socket.remoteAddress ?? '-',
      url: req.url,
      start: performance.now(),
      sentBefore: req.socket.bytesWritten,
      head: undefined,
    };
    tracked.writeHead = writeHeadCatching as typeof tracked.writeHead;
    res.on('close', closed);
    this.#open++;
  }

  /** Writes the line of a tracked response that closed. */
  record(res: ServerResponse, p: Pending): void {
    if (--this.#open === 0) this.#drained?.();
    const aborted = !res.writableFinished;
    const req = p.req;
    const version = res.getHeader('x-outpost-version') ?? p.head?.['x-outpost-version'];
    const length = res.getHeader('content-length') ?? p.head?.['content-length'];
    this.#push(
      this.#format({
        time: Date.now(),
        remote: p.remote,
        method: req.method ?? '-',
        url: p.url ?? '-',
        httpVersion: req.httpVersion,
        status: res.statusCode,
        bytes: aborted ? bodyBytesSent(res, p.sentBefore) : bodyBytes(req, res, length),
        referer: firstHeader(req.headers.referer),
        userAgent: firstHeader(req.headers['user-agent']),
        ms: performance.now() - p.start,
        version: version === undefined ? undefined : String(version),
        aborted,
      }),
    );
  }

  /** Writes the line of an answer of the direct lane (see direct-lane.ts). */
  recordDirect(a: Answered): void {
    this.#push(
      this.#format({
        time: Date.now(),
        remote: a.remote,
        method: a.head.method,
        url: a.head.target,
        httpVersion: a.head.version,
        status: a.answer.status,
        bytes: a.aborted ? 0 : (a.answer.body?.length ?? 0),
        referer: a.head.referer,
        userAgent: a.head.userAgent,
        ms: performance.now() - a.start,
        version: String(a.answer.version),
        aborted: a.aborted,
      }),
    );
  }

  #push(line: string): void {
    // A response cut while the replica stops, after the file was closed: no line.
    if (this.#closed) return;
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= FLUSH_CHARS) this.#flush();
    else this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    // Lines dropped after the last report (the disk came back since, say) are told too.
    this.#reportDropped();
    if (this.#lines.length === 0) return;
    this.#file.append(this.#lines.join(''));
    this.#lines = [];
    this.#chars = 0;
  }

  /**
   * Opens the file again by its name, after logrotate moved it away (SIGHUP): lines gathered
   * until now are handed over first, and go to whichever file is open when their turn comes.
   * Rejects with the open's error (the old file keeps taking lines meanwhile).
   */
  reopen(): Promise<void> {
    this.#flush();
    return this.#file.reopen();
  }

  /**
   * Writes what is gathered and closes the file. Responses still open get up to a second to
   * close first: the replica closes the log right after cutting those still in flight at a
   * stop, and their lines (marked aborted) come as their sockets close. Lines of responses
   * that end later still are dropped.
   */
  async close(): Promise<void> {
    if (this.#open > 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, CLOSE_WAIT_MS);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#drained = done;
      });
      this.#drained = undefined;
    }
    this.#flush();
    this.#closed = true;
    return this.#file.close();
  }
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
