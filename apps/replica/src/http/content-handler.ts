import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { TreeEntry } from '@outpost/core';
import type { Store } from '@outpost/store';
import type { Logger } from 'pino';
import { noneMatchHits, notModifiedSince } from '../serve/conditional.js';
import { contentTypeFor } from '../serve/content-type.js';
import { parseRange } from '../serve/range.js';
import { parseRequestPath } from '../serve/request-path.js';
import type { Snapshot } from '../serve/snapshot.js';

export interface ContentHandlerOptions {
  name: string;
  store: Store;
  log: Logger;
  /** The snapshot readers see now; read once per request so a response never mixes versions. */
  current: () => Snapshot;
  /** Cache-Control for content: revalidate by ETag, as content changes whenever HQ publishes. */
  cacheControl?: string;
}

/** Bodies up to this size are assembled and sent in one write; larger ones are streamed. */
const ONE_WRITE_MAX = 256 * 1024;

/** Serves the content tree of the current version: GET and HEAD, conditional requests, ranges. */
export function createContentHandler(o: ContentHandlerOptions) {
  const cacheControl = o.cacheControl ?? 'no-cache';

  const problem = (
    res: ServerResponse,
    snap: Snapshot,
    status: number,
    title: string,
    detail: string,
    extra: Record<string, string> = {},
  ) => {
    const body = JSON.stringify({ type: 'about:blank', title, status, detail });
    res.writeHead(status, {
      ...extra,
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(body),
      'x-outpost-version': String(snap.version),
      'x-outpost-replica': o.name,
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const snap = o.current();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      problem(res, snap, 405, 'Method Not Allowed', `${req.method} is not served; use GET or HEAD`);
      return;
    }
    const target = parseRequestPath(req.url ?? '/');
    if (target.kind === 'bad') {
      problem(res, snap, 400, 'Bad Request', `bad path: ${target.reason}`);
      return;
    }
    let path = target.path;
    if (target.kind === 'dir') path = path === '' ? 'index.html' : `${path}/index.html`;
    const entry = snap.tree.get(path);
    if (!entry) {
      if (target.kind === 'file' && snap.dirs.has(path)) {
        const location = `/${path.split('/').map(encodeURIComponent).join('/')}/`;
        res.writeHead(301, {
          location,
          'x-outpost-version': String(snap.version),
          'x-outpost-replica': o.name,
        });
        return void res.end();
      }
      problem(res, snap, 404, 'Not Found', `${target.path || '/'} is not in version ${snap.version}`);
      return;
    }
    serveEntry(req, res, snap, entry);
  };

  function serveEntry(req: IncomingMessage, res: ServerResponse, snap: Snapshot, entry: TreeEntry) {
    const etag = `"${entry.hash}"`;
    const headers: Record<string, string | number> = {
      etag,
      'last-modified': new Date(entry.mtime).toUTCString(),
      'content-type': contentTypeFor(entry.path),
      'accept-ranges': 'bytes',
      'cache-control': cacheControl,
      'x-content-type-options': 'nosniff',
      'x-outpost-version': snap.version,
      'x-outpost-replica': o.name,
    };
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    if (
      inm !== undefined ? noneMatchHits(inm, etag) : ims !== undefined && notModifiedSince(ims, entry.mtime)
    ) {
      res.writeHead(304, headers);
      return void res.end();
    }
    let range = parseRange(req.headers.range, entry.size);
    const ifRange = req.headers['if-range'];
    if (
      range.kind !== 'none' &&
      ifRange !== undefined &&
      ifRange !== etag &&
      ifRange !== headers['last-modified']
    ) {
      range = { kind: 'none' };
    }
    if (range.kind === 'unsatisfiable') {
      return problem(res, snap, 416, 'Range Not Satisfiable', `the file has ${entry.size} bytes`, {
        'content-range': `bytes */${entry.size}`,
      });
    }
    let start = 0;
    let end = entry.size - 1;
    let status = 200;
    if (range.kind === 'range') {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${entry.size}`;
    }
    headers['content-length'] = Math.max(0, end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || entry.size === 0) return void res.end();
    if (end - start + 1 <= ONE_WRITE_MAX) {
      const body = readRange(entry, start, end);
      if (!body) return failMissing(res, entry);
      return void res.end(body);
    }
    void streamRange(res, entry, start, end);
  }

  function readRange(entry: TreeEntry, start: number, end: number): Buffer | null {
    const parts: Buffer[] = [];
    for (const piece of piecesOf(entry, start, end)) {
      const data = o.store.chunks.get(piece.hash);
      if (!data) return null;
      parts.push(data.subarray(piece.from, piece.to));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async function streamRange(res: ServerResponse, entry: TreeEntry, start: number, end: number) {
    for (const piece of piecesOf(entry, start, end)) {
      if (res.destroyed) return;
      const data = o.store.chunks.get(piece.hash);
      if (!data) return failMissing(res, entry);
      if (!res.write(data.subarray(piece.from, piece.to))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      } else {
        // One chunk at a time: let other requests run between pieces of a large body.
        await yieldToLoop();
      }
    }
    res.end();
  }

  function failMissing(res: ServerResponse, entry: TreeEntry) {
    o.log.error({ path: entry.path, hash: entry.hash }, 'a chunk of a served file is missing from the store');
    res.destroy();
  }
}

/** The slices of chunks that cover bytes [start, end] of an entry. */
function* piecesOf(entry: TreeEntry, start: number, end: number) {
  let offset = 0;
  for (const chunk of entry.chunks) {
    const chunkEnd = offset + chunk.size - 1;
    if (chunkEnd >= start && offset <= end) {
      yield {
        hash: chunk.hash,
        from: Math.max(0, start - offset),
        to: Math.min(chunk.size, end - offset + 1),
      };
    }
    if (offset > end) return;
    offset += chunk.size;
  }
}
