import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256Hex, type TreeEntry } from '@outpost/core';
import type { Store } from '@outpost/store';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSnapshot, type Snapshot } from '../serve/snapshot.js';
import { createContentHandler } from './content-handler.js';

/*
 * The content handler over a real node:http server, with the store faked as the chunks it
 * holds: what a reader's request gets back, header by header.
 */

const bodies = new Map<string, Buffer>();
const entry = (path: string, text: string, mtime: number): TreeEntry => {
  const data = Buffer.from(text);
  const hash = sha256Hex(data);
  bodies.set(hash, data);
  return { path, size: data.length, hash, mtime, chunks: [{ hash, size: data.length }] };
};

const PAST = Date.UTC(2024, 0, 15, 12, 0, 0);
const FUTURE = Date.now() + 10 * 365 * 86_400_000;
const FILES = [
  entry('small.txt', 'small\n', PAST),
  entry('docs/index.html', '<h1>docs</h1>\n', PAST),
  entry('future.txt', 'from the future\n', FUTURE),
  entry('cafe\u0301.txt', 'made on a Mac\n', PAST),
  entry('r\u00e9sum\u00e9/index.html', '<h1>CV</h1>\n', PAST),
  entry('x/caf\u00e9', 'a file\n', PAST),
  entry('x/cafe\u0301/y.txt', 'in a folder\n', PAST),
];
const store = { chunks: { get: (hash: string) => bodies.get(hash) } } as unknown as Store;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('the content handler', () => {
  let server: Server;
  let port: number;
  let snap: Snapshot;

  /** One request with the target written as given (node:http sends an absolute-form as it is). */
  const ask = (path: string, headers: Record<string, string> = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }),
        );
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    snap = makeSnapshot(7, FILES);
    const handler = createContentHandler({
      name: 'uk-london',
      store,
      log: pino({ level: 'silent' }),
      current: () => snap,
    });
    server = createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  afterEach(() => vi.restoreAllMocks());

  describe('the absolute-form (RFC 9112 §3.2.2: a server MUST accept it)', () => {
    it('serves the file its path names', async () => {
      const res = await ask(`http://127.0.0.1:${port}/small.txt`);
      expect(res.status).toBe(200);
      expect(res.body).toBe('small\n');
      expect(res.headers['x-outpost-version']).toBe('7');
    });

    it('whatever the host or scheme it names, and with a query', async () => {
      expect((await ask('https://elsewhere.example/small.txt?x=1')).body).toBe('small\n');
      expect((await ask('HTTP://UK.CORP.EXAMPLE/docs/')).body).toBe('<h1>docs</h1>\n');
    });

    it('with its path checked as any other', async () => {
      expect((await ask('http://x/../small.txt')).status).toBe(400);
      expect((await ask('http://x/nope.txt')).status).toBe(404);
    });
  });

  describe('a name in the other Unicode normalisation form', () => {
    it('serves the file the version holds in NFD when asked for in NFC, and the other way round', async () => {
      const nfc = await ask(`/${encodeURIComponent('caf\u00e9.txt')}`);
      expect(nfc.status).toBe(200);
      expect(nfc.body).toBe('made on a Mac\n');
      expect(nfc.headers.etag).toBe(`"${sha256Hex('made on a Mac\n')}"`);
      const nfd = await ask(`/${encodeURIComponent('r\u00e9sume\u0301')}/index.html`);
      expect(nfd.status).toBe(200);
      expect(nfd.body).toBe('<h1>CV</h1>\n');
      expect((await ask(`/${encodeURIComponent('re\u0301sume\u0301')}/`)).body).toBe('<h1>CV</h1>\n');
    });

    it('redirects a folder asked for without its slash in another form to the name it holds', async () => {
      const stored = `/${encodeURIComponent('r\u00e9sum\u00e9')}/`;
      for (const asked of ['r\u00e9sume\u0301', 're\u0301sume\u0301']) {
        const res = await ask(`/${encodeURIComponent(asked)}?p=1`);
        expect(res.status).toBe(301);
        expect(res.headers.location).toBe(`${stored}?p=1`);
      }
      expect((await ask(`/${encodeURIComponent('R\u00c9SUM\u00c9')}`)).status).toBe(404);
    });

    it('does not stand in for a folder of the very name asked for', async () => {
      const folder = await ask(`/x/${encodeURIComponent('cafe\u0301')}`);
      expect(folder.status).toBe(301);
      expect(folder.headers.location).toBe(`/x/${encodeURIComponent('cafe\u0301')}/`);
      expect((await ask(`/x/${encodeURIComponent('caf\u00e9')}`)).body).toBe('a file\n');
    });

    it('is not a case-insensitive lookup', async () => {
      expect((await ask(`/${encodeURIComponent('CAF\u00c9.txt')}`)).status).toBe(404);
      expect((await ask('/SMALL.txt')).status).toBe(404);
    });
  });

  describe('the directory redirect', () => {
    it('keeps the query, as nginx does', async () => {
      const res = await ask('/docs?x=1&y=2');
      expect(res.status).toBe(301);
      expect(res.headers.location).toBe('/docs/?x=1&y=2');
    });

    it('has no query to keep without one', async () => {
      expect((await ask('/docs')).headers.location).toBe('/docs/');
      expect((await ask('http://x/docs?a=%2F')).headers.location).toBe('/docs/?a=%2F');
    });

    it('is revalidated (no-cache), so a browser does not keep it once /docs is a file', async () => {
      const res = await ask('/docs');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['x-outpost-replica']).toBe('uk-london');
    });
  });

  describe('Last-Modified (RFC 9110 §8.8.2.1: never later than Date)', () => {
    it('is the mtime when that is past', async () => {
      const res = await ask('/small.txt');
      expect(res.headers['last-modified']).toBe('Mon, 15 Jan 2024 12:00:00 GMT');
    });

    it('is the Date of the response when the mtime is in the future', async () => {
      const before = Math.floor(Date.now() / 1000) * 1000;
      const res = await ask('/future.txt');
      expect(res.status).toBe(200);
      const lastModified = Date.parse(res.headers['last-modified']!);
      expect(lastModified).toBeLessThanOrEqual(Date.parse(res.headers.date!));
      expect(lastModified).toBeGreaterThanOrEqual(before);
      expect(lastModified).toBeLessThanOrEqual(Date.now());
    });

    it('and its validators count from then: a date before the future mtime is not "modified since"', async () => {
      // One clock for both requests, or a second ticking over between them would count as a change.
      const at = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(at);
      const now = new Date(at).toUTCString();
      // Against the raw mtime (ten years on) this date would be long before it: 200, and 412.
      expect((await ask('/future.txt', { 'if-modified-since': now })).status).toBe(304);
      expect((await ask('/future.txt', { 'if-unmodified-since': now })).status).toBe(200);
    });

    it('is worked out anew per response, not kept from the first one', async () => {
      const first = await ask('/future.txt');
      const later = Date.now() + 3 * 86_400_000;
      vi.spyOn(Date, 'now').mockReturnValue(later);
      const second = await ask('/future.txt');
      expect(second.headers['last-modified']).toBe(new Date(later).toUTCString());
      expect(second.headers['last-modified']).not.toBe(first.headers['last-modified']);
      expect(second.headers.date).toBe(second.headers['last-modified']);
    });

    it('is the mtime again once the clock has passed it', async () => {
      vi.spyOn(Date, 'now').mockReturnValue(FUTURE + 1000);
      const res = await ask('/future.txt');
      expect(res.headers['last-modified']).toBe(new Date(FUTURE).toUTCString());
      vi.restoreAllMocks();
      // From then on the entry's own Last-Modified is kept (the clock does not run backwards).
      expect((await ask('/future.txt')).headers['last-modified']).toBe(new Date(FUTURE).toUTCString());
    });
  });
});
