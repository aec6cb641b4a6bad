/**
 * The request heads the replica's direct lane answers itself (see http/direct-lane.ts): the
 * plain GET and HEAD of a file that every download tool, package manager and benchmark sends.
 * This reader is deliberately narrow. It accepts a head only when every byte of it is one
 * node:http's strict parser (llhttp) reads the same way, and it declines everything else (a
 * body, a framing or hop-by-hop header, a range, a byte outside printable ASCII, a folded or
 * bare-LF line, a second Host, any doubt), which node:http then reads and answers as before.
 */

/** A request head the direct lane may answer. Header values are as sent, trimmed of spaces. */
export interface WireHead {
  method: 'GET' | 'HEAD';
  /** The origin-form target as sent: a path of pchars and `/` (no `%`), maybe a query. */
  target: string;
  /** The path the target names, without its leading `/` (a key of the version's tree as it is). */
  path: string;
  /** Bytes of the head, its blank line included. */
  length: number;
  /** HTTP/1.1, or 1.0 (whose connections close after each answer unless it asks for keep-alive). */
  version: '1.1' | '1.0';
  /** The connection closes after this response: asked for, or HTTP/1.0 without keep-alive. */
  close: boolean;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  acceptEncoding: string | undefined;
  accept: string | undefined;
  referer: string | undefined;
  userAgent: string | undefined;
}

export interface WireHeadLimits {
  /** Largest head, in bytes on the wire; a larger one is left to node:http's own limit. */
  maxHeaderBytes: number;
  /** Most header lines; more are left to node:http. */
  maxHeadersCount: number;
}

const END = Buffer.from('\r\n\r\n');
const VERSION = Buffer.from(' HTTP/1.1\r\n');
const VERSION_1_0 = Buffer.from(' HTTP/1.0\r\n');

/** A table of the bytes `chars` holds (ranges as `a-z`, the `-` itself last). */
function byteSet(chars: string): Uint8Array {
  const set = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) {
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      for (let c = chars.charCodeAt(i); c <= chars.charCodeAt(i + 2); c++) set[c] = 1;
      i += 2;
    } else set[chars.charCodeAt(i)] = 1;
  }
  return set;
}

// The target's path: `/` and then RFC 3986 pchars and slashes. No `%` (nothing to decode), no
// `\`: such paths take the careful way.
const TARGET = byteSet("A-Za-z0-9._~!$&'()*+,;=:@/-");
// A query (RFC 3986 §3.4), which names no file (the careful way ignores it too): pchars,
// percent-encoded bytes, `/` and `?`.
const QUERY = byteSet("A-Za-z0-9._~!$&'()*+,;=:@/?%-");
// A field name is a token (RFC 9110 §5.6.2).
const TOKEN = byteSet("A-Za-z0-9!#$%&'*+.^_`|~-");
// A field value: printable ASCII, space and tab. No CR or LF (a line ends only at CRLF), no
// NUL, no obs-text, whose reading differs between parsers.
const VALUE = byteSet('\t -~');

/**
 * Headers that change how a request is framed or answered beyond what the lane does: a body,
 * an expectation, an upgrade, a range, the preconditions that can fail.
 */
const DECLINE = new Set([
  'content-length',
  'transfer-encoding',
  'expect',
  'upgrade',
  'http2-settings',
  'range',
  'if-range',
  'if-match',
  'if-unmodified-since',
]);

/** Names the lane reads or declines, by length: any other header is passed over unread. */
const KNOWN = new Map<number, string[]>();
for (const name of [
  ...DECLINE,
  'host',
  'connection',
  'if-none-match',
  'if-modified-since',
  'accept-encoding',
  'accept',
  'referer',
  'user-agent',
]) {
  KNOWN.set(name.length, [...(KNOWN.get(name.length) ?? []), name]);
}

/** Whether bytes [at, at + name.length) of `buf` are `name` (lower case) in any case. */
function sameName(buf: Buffer, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    // ASCII letters differ from their lower case by 0x20; the other token bytes match only themselves.
    if ((buf[at + i]! | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** The known name of the field whose name is bytes [at, end) of `buf`, or undefined. */
function knownName(buf: Buffer, at: number, end: number): string | undefined {
  const names = KNOWN.get(end - at);
  if (names === undefined) return undefined;
  for (const name of names) if (sameName(buf, at, name)) return name;
  return undefined;
}

/**
 * The request head that starts at `start` of `buf`, or null when the lane leaves it to
 * node:http: not for this lane, or not all here yet (a head cut across reads is rare, and a
 * slow one is what node:http's timeouts are for).
 */
export function scanHead(buf: Buffer, start: number, limits: WireHeadLimits): WireHead | null {
  const end = buf.indexOf(END, start);
  if (end === -1) return null;
  const length = end + 4 - start;
  if (length > limits.maxHeaderBytes) return null;
  // The request line: GET or HEAD, the target, HTTP/1.1.
  let i = start;
  let method: 'GET' | 'HEAD';
  if (buf[i] === 0x47 && buf[i + 1] === 0x45 && buf[i + 2] === 0x54 && buf[i + 3] === 0x20) {
    method = 'GET';
    i += 4;
  } else if (
    buf[i] === 0x48 &&
    buf[i + 1] === 0x45 &&
    buf[i + 2] === 0x41 &&
    buf[i + 3] === 0x44 &&
    buf[i + 4] === 0x20
  ) {
    method = 'HEAD';
    i += 5;
  } else return null;
  const targetStart = i;
  if (buf[i] !== 0x2f) return null;
  while (i < end && TARGET[buf[i]!] === 1) i++;
  const pathEnd = i;
  if (buf[i] === 0x3f /* ? */) while (i < end && QUERY[buf[i]!] === 1) i++;
  const targetEnd = i;
  // The line must end here, before the head's end: a head of a request line alone has no Host.
  if (i + VERSION.length > end) return null;
  let version: '1.1' | '1.0';
  if (buf.compare(VERSION, 0, VERSION.length, i, i + VERSION.length) === 0) version = '1.1';
  else if (buf.compare(VERSION_1_0, 0, VERSION.length, i, i + VERSION.length) === 0) version = '1.0';
  else return null;
  i += VERSION.length;
  const target = buf.toString('latin1', targetStart, targetEnd);
  const head: WireHead = {
    method,
    target,
    path: target.slice(1, pathEnd - targetStart),
    length,
    version,
    close: version === '1.0',
    ifNoneMatch: undefined,
    ifModifiedSince: undefined,
    acceptEncoding: undefined,
    accept: undefined,
    referer: undefined,
    userAgent: undefined,
  };
  let hosts = 0;
  let fields = 0;
  let connection = false;
  // Field lines: `name:`, optional spaces, the value, optional spaces, CRLF. The last one's CRLF
  // is the first half of the head's end.
  while (i < end + 2) {
    if (++fields > limits.maxHeadersCount) return null;
    const nameStart = i;
    while (TOKEN[buf[i]!] === 1) i++;
    if (i === nameStart || buf[i] !== 0x3a) return null;
    const nameEnd = i++;
    while (buf[i] === 0x20 || buf[i] === 0x09) i++;
    const valueStart = i;
    while (VALUE[buf[i]!] === 1) i++;
    if (buf[i] !== 0x0d || buf[i + 1] !== 0x0a) return null;
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === 0x20 || buf[valueEnd - 1] === 0x09)) valueEnd--;
    i += 2;
    const name = knownName(buf, nameStart, nameEnd);
    if (name === undefined) continue;
    if (DECLINE.has(name)) return null;
    if (name === 'host') {
      hosts++;
      continue;
    }
    const value = buf.toString('latin1', valueStart, valueEnd);
    // A second line of one of these is joined by some parsers and dropped by others.
    if (name === 'connection') {
      if (connection) return null;
      connection = true;
      const options = connectionOptions(value);
      if (options === null) return null;
      head.close = options.close || (version === '1.0' && !options.keepAlive);
    } else if (!setOnce(head, name, value)) return null;
  }
  // Exactly one Host (RFC 9112 §3.2): the request guard answers the others.
  if (hosts !== 1) return null;
  return head;
}

/** The WireHead property each read header goes to. */
const PROPERTY = {
  'if-none-match': 'ifNoneMatch',
  'if-modified-since': 'ifModifiedSince',
  'accept-encoding': 'acceptEncoding',
  accept: 'accept',
  referer: 'referer',
  'user-agent': 'userAgent',
} as const;

/** Sets a read header's value; false if the head had it already. */
function setOnce(head: WireHead, name: string, value: string): boolean {
  const key = PROPERTY[name as keyof typeof PROPERTY];
  if (head[key] !== undefined) return false;
  head[key] = value;
  return true;
}

/** Which of `close` and `keep-alive` a Connection header names; null for any other option (upgrade, TE…). */
function connectionOptions(value: string): { close: boolean; keepAlive: boolean } | null {
  let close = false;
  let keepAlive = false;
  for (const option of value.split(',')) {
    const o = option.trim().toLowerCase();
    if (o === 'close') close = true;
    else if (o === 'keep-alive') keepAlive = true;
    else return null;
  }
  return { close, keepAlive };
}
