import { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sha256Hex, type TreeEntry } from '@outpost/core';
import type { Store } from '@outpost/store';
import type { Logger } from 'pino';
import { BodyCache } from '../serve/body-cache.js';
import { type CacheRule, cacheControlFor } from '../serve/cache-control.js';
import { contentTypeFor } from '../serve/content-type.js';
import { listDirectory, renderListing } from '../serve/dir-listing.js';
import { type Coding, codedEtag, isCompressible, negotiateCoding } from '../serve/encoding.js';
import { errorBody } from '../serve/error-body.js';
import { planMultipart } from '../serve/multipart.js';
import type { Precompressor } from '../serve/precompressor.js';
import { evaluatePreconditions } from '../serve/preconditions.js';
import { type ByteRange, parseRange } from '../serve/range.js';
import { parseRequestPath } from '../serve/request-path.js';
import type { Snapshot } from '../serve/snapshot.js';
import type { WireHead } from '../serve/wire-head.js';

export interface ContentHandlerOptions {
  name: string;
  store: Store;
  log: Logger;
  /** The snapshot readers see now; read once per request so a response never mixes versions. */
  current: () => Snapshot;
  /** Cache-Control by path prefix; the default revalidates by ETag. */
  cacheRules?: CacheRule[];
  /** Serve an HTML listing for a directory without index.html (off: 404). */
  dirListing?: boolean;
  /** Computes compressed copies in the background; without it, nothing is compressed. */
  precompressor?: Precompressor;
  /** Bytes of small bodies kept in memory. */
  cacheBytes?: number;
  /** Bytes of verified chunks of large files kept in memory (default 64 MiB). */
  chunkCacheBytes?: number;
  /** Told of a stored chunk that does not hash to its address (it is never served). */
  onDamage?: (hash: string, size: number) => void;
  /** Takes an error a store read threw (damage deep in the store); true when it was damage. */
  onStoreError?: (err: unknown, where: string) => boolean;
  /** Contents being streamed right now, with how many readers: garbage collection spares them. */
  inUse?: Map<string, number>;
}

/** Request targets that must be decoded and checked before a lookup (a `#` ends the path). */
const NEEDS_DECODING = /[%?#\\]/;

/** Bytes of rendered directory listings kept. */
const LISTING_CACHE_BYTES = 16 * 1024 * 1024;

/** Paths of printable ASCII (none holds a control character): alike in every normalisation form. */
const ASCII = /^[ -~]*$/;

/**
 * The entry at `path`, or else at the path the version holds that differs from it only in
 * Unicode normalisation: a name made on a Mac (NFD, `cafe\u0301.txt`) asked for as typed
 * or linked elsewhere (NFC, `caf\u00e9.txt`), or the other way round. A version never holds
 * two such paths (the master refuses the second), so the answer is never ambiguous.
 */
function lookup(snap: Snapshot, path: string): TreeEntry | undefined {
  const hit = snap.tree.get(path);
  if (hit || ASCII.test(path)) return hit;
  const twin = snap.live.foldedTwin(path);
  return twin !== undefined && twin.normalize('NFC') === path.normalize('NFC')
    ? snap.tree.get(twin)
    : undefined;
}

/** The folder the version holds under `path` in another Unicode normalisation, if any. */
function dirTwin(snap: Snapshot, path: string): string | undefined {
  if (ASCII.test(path)) return undefined;
  const twin = snap.live.foldedDirTwin(path);
  return twin !== undefined && twin.normalize('NFC') === path.normalize('NFC') ? twin : undefined;
}

/** Bodies up to this size are assembled, cached and sent in one write; larger ones stream. */
const ONE_WRITE_MAX = 256 * 1024;

interface EntryMeta {
  type: string;
  /** Last-Modified, and the time it stands for (the mtime, or now when that is in the future). */
  lastModified: string;
  mtimeMs: number;
  cacheControl: string;
  compressible: boolean;
  /** The mtime was later than the clock when last looked at: Last-Modified is worked out per response. */
  future: boolean;
  /** The Date header, set only with a Last-Modified clamped to it so that the two agree. */
  date?: string;
}

/** Seconds since the epoch, as HTTP dates count them. */
const seconds = (ms: number) => Math.floor(ms / 1000);

/** The representation chosen for a response: identity bytes of the entry, or a coded copy. */
interface Representation {
  coding: Coding | null;
  etag: string;
  /** The coded bytes, when coded. */
  coded?: Buffer;
}

/**
 * A whole response the direct lane writes to the socket itself: the status line and the
 * headers (each line ending CRLF; node:http's Date and Connection lines, and the blank line,
 * are the lane's to add), and the body.
 */
export interface DirectAnswer {
  status: number;
  head: Buffer;
  body: Buffer | undefined;
  /** The version it came from (X-Outpost-Version), for the access log. */
  version: number;
  /** Head and body are buffers the handler keeps and gives again for the same answer. */
  kept?: boolean;
}

/** A response worked out whole before it is written: an error's, for either lane. */
interface Whole {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string | undefined;
}

/** The status line and header lines node:http writes for `writeHead(status, headers)`. */
function headBytes(status: number, headers: OutgoingHttpHeaders): Buffer {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`;
  for (const name in headers) text += `${name}: ${headers[name]}\r\n`;
  return Buffer.from(text, 'latin1');
}

/** The content handler: a node:http request handler, and `quick` for the direct lane. */
export type ContentHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /**
   * The whole answer to a plain GET or HEAD of a small file of the current version, exactly as
   * the handler would give it; null for anything else, which is then left to the handler.
   */
  quick(h: WireHead): DirectAnswer | null;
};

/** An entry's own bytes, uncoded. */
const identityOf = (entry: TreeEntry): Representation => ({ coding: null, etag: `"${entry.hash}"` });

/** Serves the content tree of the current version: GET and HEAD, conditional requests, ranges, codings. */
export function createContentHandler(o: ContentHandlerOptions): ContentHandler {
  const rules = o.cacheRules ?? [];
  const cache = new BodyCache(o.cacheBytes ?? 64 * 1024 * 1024, ONE_WRITE_MAX);
  // Chunks of large files, as verified when read: a hot large file is then streamed from
  // memory, with no SQLite read, no SHA-256 and no new buffer per chunk.
  const chunkCache = new BodyCache(o.chunkCacheBytes ?? 64 * 1024 * 1024, 1024 * 1024);
  // Directory listings as rendered, by version and directory: rendering one of 50,000 files
  // takes 150-250 ms of the event loop, which every other reader would wait out, per request.
  const listings = new BodyCache(LISTING_CACHE_BYTES, LISTING_CACHE_BYTES);

  const baseHeaders = (snap: Snapshot): OutgoingHttpHeaders => ({
    'x-outpost-version': String(snap.version),
    'x-outpost-replica': o.name,
    'x-content-type-options': 'nosniff',
  });

  const failure = (
    accept: string | undefined,
    method: string | undefined,
    snap: Snapshot,
    status: number,
    title: string,
    detail: string,
    extra: OutgoingHttpHeaders = {},
  ): Whole => {
    const { type, body } = errorBody(accept, status, title, detail);
    const headers = {
      ...baseHeaders(snap),
      ...extra,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    };
    return { status, headers, body: method === 'HEAD' ? undefined : body };
  };

  const fail = (
    req: IncomingMessage,
    res: ServerResponse,
    snap: Snapshot,
    status: number,
    title: string,
    detail: string,
    extra: OutgoingHttpHeaders = {},
  ) => {
    const f = failure(req.headers.accept, req.method, snap, status, title, detail, extra);
    res.writeHead(f.status, f.headers);
    res.end(f.body);
  };

  /** The 503 of a small file whose bytes could not be read whole (damage being repaired). */
  const repairing = (
    accept: string | undefined,
    method: string | undefined,
    snap: Snapshot,
    entry: TreeEntry,
  ) =>
    failure(accept, method, snap, 503, 'Service Unavailable', `${entry.path} is being repaired; try again`, {
      'retry-after': '1',
    });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const snap = o.current();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      fail(req, res, snap, 405, 'Method Not Allowed', `${req.method} is not served; use GET or HEAD`, {
        allow: 'GET, HEAD',
      });
      return;
    }
    // Before its first version a replica holds nothing to say 404 of: a reader (or a cache in
    // front) told 404 would take the file for gone; /readyz says 503 meanwhile, and so does this.
    if (snap.version === 0) {
      fail(req, res, snap, 503, 'Service Unavailable', 'this replica holds no version yet: it is syncing', {
        'retry-after': '5',
      });
      return;
    }
    const url = req.url ?? '/';
    // The hot path: a plain target that names a file of the version. Every key of the tree is
    // a checked path, so a hit needs no more checks; anything else takes the careful way.
    if (url.charCodeAt(0) === 47 /* '/' */ && !NEEDS_DECODING.test(url)) {
      const hit = snap.tree.get(url.slice(1));
      if (hit) {
        serveEntry(req, res, snap, hit);
        return;
      }
    }
    const target = parseRequestPath(url);
    if (target.kind === 'bad') {
      fail(req, res, snap, 400, 'Bad Request', `bad path: ${target.reason}`);
      return;
    }
    if (target.kind === 'dir') {
      const index = lookup(snap, target.path === '' ? 'index.html' : `${target.path}/index.html`);
      const items = !index && o.dirListing ? listDirectory(snap, target.path) : undefined;
      if (index) serveEntry(req, res, snap, index);
      else if (items) serveListing(req, res, snap, target.path, items);
      else
        fail(req, res, snap, 404, 'Not Found', `/${target.path}${target.path ? '/' : ''} has no index.html`);
      return;
    }
    // A folder of this very name goes before a file that differs from it only in normalisation.
    const entry =
      snap.tree.get(target.path) ?? (snap.dirs.has(target.path) ? undefined : lookup(snap, target.path));
    if (entry) {
      serveEntry(req, res, snap, entry);
      return;
    }
    const dir = snap.dirs.has(target.path) ? target.path : dirTwin(snap, target.path);
    if (dir !== undefined) {
      // The query goes along (`/docs?x=1` → `/docs/?x=1`), as nginx keeps it: it is part of
      // what was asked for. (The parser lets no byte through that a header may not carry.)
      const asked = url.split('#', 1)[0]!;
      const q = asked.indexOf('?');
      const query = q === -1 || q === asked.length - 1 ? '' : asked.slice(q);
      const location = `/${dir.split('/').map(encodeURIComponent).join('/')}/${query}`;
      res.writeHead(301, {
        ...baseHeaders(snap),
        location,
        'content-length': 0,
        // A 301 without one is cached for good by browsers: once /docs becomes a file, they
        // would still be sent to /docs/. Revalidating, like the content, keeps them right.
        'cache-control': 'no-cache',
      });
      res.end();
      return;
    }
    fail(req, res, snap, 404, 'Not Found', `/${target.path} is not in version ${snap.version}`);
  };

  function serveListing(
    req: IncomingMessage,
    res: ServerResponse,
    snap: Snapshot,
    dir: string,
    items: ReturnType<typeof listDirectory> & object,
  ) {
    const key = `${snap.version} ${snap.root} ${dir}`;
    let body = listings.get(key);
    if (!body) {
      body = Buffer.from(renderListing(dir, items, snap.version));
      listings.set(key, body);
    }
    res.writeHead(200, {
      ...baseHeaders(snap),
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function choose(
    acceptEncoding: string | undefined,
    entry: TreeEntry,
    compressible: boolean,
    ranged: boolean,
  ): Representation {
    const identity = identityOf(entry);
    // Ranges are always of the identity bytes: a range of a compressed stream helps no one.
    if (ranged || !compressible || !o.precompressor) return identity;
    const coding = negotiateCoding(acceptEncoding);
    if (!coding) return identity;
    const key = `${entry.hash}:${coding}`;
    let coded = cache.get(key);
    if (!coded) {
      const stored = o.store.encodings.get(entry.hash, coding);
      if (stored === undefined) o.precompressor.request(entry, coding);
      if (!stored?.data) return identity;
      if (sha256Hex(stored.data) !== stored.sha256) {
        // A damaged coded copy is dropped and made again; this reader gets the identity bytes.
        o.log.error({ path: entry.path, coding }, 'damaged coded copy found; computing it again');
        o.store.encodings.delete(entry.hash, coding);
        o.precompressor.request(entry, coding);
        return identity;
      }
      coded = stored.data;
      cache.set(key, coded);
    }
    return { coding, etag: codedEtag(entry.hash, coding), coded };
  }

  /** What every response for an entry repeats, worked out once per entry. */
  const metaOf = (entry: TreeEntry): EntryMeta => {
    let meta = metas.get(entry);
    if (!meta) {
      const type = contentTypeFor(entry.path);
      meta = {
        type,
        lastModified: new Date(entry.mtime).toUTCString(),
        mtimeMs: entry.mtime,
        cacheControl: cacheControlFor(rules, entry.path),
        compressible: o.precompressor !== undefined && isCompressible(type, entry.size),
        future: seconds(entry.mtime) > seconds(Date.now()),
      };
      metas.set(entry, meta);
    }
    return meta;
  };
  const metas = new WeakMap<TreeEntry, EntryMeta>();

  /**
   * The meta of an entry whose mtime was in the future (a clock set wrong, `touch -d 2035`): a
   * Last-Modified later than the response's Date MUST be replaced by that Date (RFC 9110
   * §8.8.2.1), so this response gets now as both, and its validators count from now. Once the
   * clock has caught up with the mtime, the entry's own meta serves from then on.
   */
  const asOfNow = (meta: EntryMeta): EntryMeta => {
    const now = Date.now();
    if (seconds(meta.mtimeMs) <= seconds(now)) {
      meta.future = false;
      return meta;
    }
    const date = new Date(now).toUTCString();
    return { ...meta, lastModified: date, mtimeMs: now, date };
  };

  function serveEntry(req: IncomingMessage, res: ServerResponse, snap: Snapshot, entry: TreeEntry) {
    let meta = metaOf(entry);
    if (meta.future) meta = asOfNow(meta);
    const { type, lastModified, compressible } = meta;
    let range = parseRange(req.headers.range, entry.size);
    const ifRange = req.headers['if-range'];
    // If-Range: the range only if the client's copy is this one (strong ETag or exact date).
    if (
      range.kind !== 'none' &&
      ifRange !== undefined &&
      ifRange !== `"${entry.hash}"` &&
      ifRange !== lastModified
    ) {
      range = { kind: 'none' };
    }
    const acceptEncoding = req.headers['accept-encoding'] as string | undefined;
    const rep = choose(acceptEncoding, entry, compressible, range.kind !== 'none');
    const headers = entryHeaders(snap, meta, rep);

    const pre = evaluatePreconditions(req.headers, { etag: rep.etag, mtimeMs: meta.mtimeMs });
    if (pre === 'not-modified') {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (pre === 'failed') {
      fail(req, res, snap, 412, 'Precondition Failed', `the current ETag is ${rep.etag}`, { etag: rep.etag });
      return;
    }
    if (range.kind === 'refused' || range.kind === 'unsatisfiable') {
      const detail = range.kind === 'refused' ? range.reason : `the file has ${entry.size} bytes`;
      fail(req, res, snap, 416, 'Range Not Satisfiable', detail, {
        'content-range': `bytes */${entry.size}`,
      });
      return;
    }
    const head = req.method === 'HEAD';
    if (rep.coded) {
      headers['content-length'] = rep.coded.length;
      res.writeHead(200, headers);
      res.end(head ? undefined : rep.coded);
      return;
    }
    if (range.kind === 'multi') {
      const plan = planMultipart(range.ranges, entry.size, type);
      headers['content-type'] = plan.contentType;
      headers['content-length'] = plan.length;
      res.writeHead(206, headers);
      if (head) return void res.end();
      void streamMultipart(res, entry, range.ranges, plan);
      return;
    }
    let { start, end } = { start: 0, end: entry.size - 1 };
    let status = 200;
    if (range.kind === 'range') {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${entry.size}`;
    }
    const length = Math.max(0, end - start + 1);
    headers['content-length'] = length;
    if (entry.size <= ONE_WRITE_MAX) {
      // Read (and check) before the head goes out, so damage can still be answered cleanly.
      const body = head || length === 0 ? null : wholeBody(entry);
      if (!head && length > 0 && !body) {
        const f = repairing(req.headers.accept, req.method, snap, entry);
        res.writeHead(f.status, f.headers);
        res.end(f.body);
        return;
      }
      res.writeHead(status, headers);
      res.end(body === null ? undefined : status === 200 ? body : body.subarray(start, end + 1));
      return;
    }
    res.writeHead(status, headers);
    if (head || length === 0) return void res.end();
    void streamRange(res, entry, start, end).then((ok) => ok && res.end());
  }

  /** The headers of a response with an entry's bytes (or a coded copy of them), in the order sent. */
  function entryHeaders(snap: Snapshot, meta: EntryMeta, rep: Representation): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      etag: rep.etag,
      'last-modified': meta.lastModified,
      'content-type': meta.type,
      'accept-ranges': 'bytes',
      'cache-control': meta.cacheControl,
      'x-content-type-options': 'nosniff',
      'x-outpost-version': snap.version,
      'x-outpost-replica': o.name,
    };
    if (meta.compressible) headers.vary = 'Accept-Encoding';
    // Ranges are of the file's own bytes, never of a coded copy: a client that resumed a br or
    // gzip download by its offset would splice the two (nginx leaves it out of those too).
    if (rep.coding) {
      delete headers['accept-ranges'];
      headers['content-encoding'] = rep.coding;
    }
    if (meta.date !== undefined) headers.date = meta.date;
    return headers;
  }

  // The head of a small file's whole identity response, by entry, for the version it was made for.
  const plainHeads = new WeakMap<TreeEntry, { version: number; head: Buffer }>();

  /** `quick` of the returned handler: see ContentHandler. */
  function quick(h: WireHead): DirectAnswer | null {
    const snap = o.current();
    const entry = snap.tree.get(h.path);
    if (!entry || entry.size > ONE_WRITE_MAX) return null;
    const meta = metaOf(entry);
    // A Last-Modified in the future is worked out per response (see asOfNow): the careful way.
    if (meta.future && asOfNow(meta).date !== undefined) return null;
    // Bytes no coding applies to (most, and all a benchmark asks for) need no choice made.
    const rep = meta.compressible ? choose(h.acceptEncoding, entry, true, false) : identityOf(entry);
    if (h.ifNoneMatch !== undefined || h.ifModifiedSince !== undefined) {
      const pre = evaluatePreconditions(
        { 'if-none-match': h.ifNoneMatch, 'if-modified-since': h.ifModifiedSince },
        { etag: rep.etag, mtimeMs: meta.mtimeMs },
      );
      if (pre === 'not-modified')
        return {
          status: 304,
          head: headBytes(304, entryHeaders(snap, meta, rep)),
          body: undefined,
          version: snap.version,
        };
      // Only If-Match and If-Unmodified-Since fail, and heads with those are not the lane's.
      if (pre === 'failed') return null;
    }
    const head = h.method === 'HEAD';
    if (rep.coded) {
      const headers = entryHeaders(snap, meta, rep);
      headers['content-length'] = rep.coded.length;
      return {
        status: 200,
        head: headBytes(200, headers),
        body: head ? undefined : rep.coded,
        version: snap.version,
      };
    }
    const body = head || entry.size === 0 ? undefined : (wholeBody(entry) ?? undefined);
    if (!head && entry.size > 0 && !body) {
      const f = repairing(h.accept, h.method, snap, entry);
      const text = f.body === undefined ? undefined : Buffer.from(f.body);
      return { status: f.status, head: headBytes(f.status, f.headers), body: text, version: snap.version };
    }
    let plain = plainHeads.get(entry);
    if (plain?.version !== snap.version) {
      const headers = entryHeaders(snap, meta, rep);
      headers['content-length'] = entry.size;
      plain = { version: snap.version, head: headBytes(200, headers) };
      plainHeads.set(entry, plain);
    }
    return { status: 200, head: plain.head, body, version: snap.version, kept: true };
  }

  /** A stored chunk, checked against its address; null (and reported) when damaged or missing. */
  function readChunk(hash: string, size: number, entry: TreeEntry): Buffer | null {
    const hot = chunkCache.get(hash);
    if (hot) return hot;
    let data: Buffer | undefined;
    try {
      data = o.store.chunks.get(hash);
    } catch (err) {
      // A damaged page fails this read, not the process: the reader gets a 503 or a cut body.
      o.onStoreError?.(err, 'a read');
      o.log.error(
        { path: entry.path, chunk: hash, err: (err as Error).message },
        'could not read a chunk from the store',
      );
      return null;
    }
    if (data && data.length === size && sha256Hex(data) === hash) {
      if (entry.size > ONE_WRITE_MAX) chunkCache.set(hash, data);
      return data;
    }
    o.log.error(
      { path: entry.path, chunk: hash, missing: !data },
      'refusing to serve a damaged or missing chunk',
    );
    o.onDamage?.(hash, size);
    return null;
  }

  /** A small file's bytes, from the cache or assembled (and checked) from its chunks. */
  function wholeBody(entry: TreeEntry): Buffer | null {
    const cached = cache.get(entry.hash);
    if (cached) return cached;
    const parts: Buffer[] = [];
    for (const c of entry.chunks) {
      const data = readChunk(c.hash, c.size, entry);
      if (!data) return null;
      parts.push(data);
    }
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    cache.set(entry.hash, body);
    return body;
  }

  async function streamMultipart(
    res: ServerResponse,
    entry: TreeEntry,
    ranges: ByteRange[],
    plan: ReturnType<typeof planMultipart>,
  ) {
    // Held across the parts: between two, a prune would find the content free.
    const release = hold(entry);
    try {
      for (const [i, r] of ranges.entries()) {
        if (!(await write(res, plan.heads[i]!))) return;
        if (!(await streamRange(res, entry, r.start, r.end))) return;
      }
    } finally {
      release();
    }
    res.end(plan.tail);
  }

  /** Marks the content as being read until the returned function is called. */
  function hold(entry: TreeEntry): () => void {
    const inUse = o.inUse;
    inUse?.set(entry.hash, (inUse.get(entry.hash) ?? 0) + 1);
    return () => {
      const left = (inUse?.get(entry.hash) ?? 1) - 1;
      if (left > 0) inUse?.set(entry.hash, left);
      else inUse?.delete(entry.hash);
    };
  }

  /** Streams bytes [start, end] a chunk at a time with backpressure; false if it had to stop. */
  async function streamRange(
    res: ServerResponse,
    entry: TreeEntry,
    start: number,
    end: number,
  ): Promise<boolean> {
    // The version may be replaced (and collected) mid-stream: hold on to this content's chunks.
    const release = hold(entry);
    try {
      return await streamPieces(res, entry, start, end);
    } finally {
      release();
    }
  }

  async function streamPieces(
    res: ServerResponse,
    entry: TreeEntry,
    start: number,
    end: number,
  ): Promise<boolean> {
    for (const piece of piecesOf(entry, start, end)) {
      if (res.destroyed) return false;
      const data = readChunk(piece.hash, piece.size, entry);
      if (!data) {
        // The head is out: cutting the connection is the only way to say "not these bytes".
        res.destroy();
        return false;
      }
      if (!(await write(res, data.subarray(piece.from, piece.to)))) return false;
    }
    return true;
  }

  return Object.assign(handle, { quick });
}

/** Writes one piece, waiting for drain when the socket is full; yields between pieces either way. */
async function write(res: ServerResponse, piece: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(piece)) {
    // Let other requests run between pieces of a large body.
    await yieldToLoop();
    return !res.destroyed;
  }
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  // On loopback 'drain' can fire within the same tick: yield here too, or a large body goes
  // out in one go while small requests wait behind it.
  await yieldToLoop();
  return !res.destroyed;
}

/** The slices of chunks that cover bytes [start, end] of an entry. */
function* piecesOf(entry: TreeEntry, start: number, end: number) {
  let offset = 0;
  for (const chunk of entry.chunks) {
    if (offset > end) return;
    const chunkEnd = offset + chunk.size - 1;
    if (chunkEnd >= start) {
      yield {
        hash: chunk.hash,
        size: chunk.size,
        from: Math.max(0, start - offset),
        to: Math.min(chunk.size, end - offset + 1),
      };
    }
    offset += chunk.size;
  }
}
