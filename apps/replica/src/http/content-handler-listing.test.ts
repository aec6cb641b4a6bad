import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256Hex, type TreeEntry } from '@outpost/core';
import type { Store } from '@outpost/store';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as listing from '../serve/dir-listing.js';
import { makeSnapshot, type Snapshot } from '../serve/snapshot.js';
import { createContentHandler } from './content-handler.js';

vi.mock('../serve/dir-listing.js', async (original) => {
  const real = await original<typeof import('../serve/dir-listing.js')>();
  return { ...real, renderListing: vi.fn(real.renderListing) };
});

const entry = (path: string): TreeEntry => {
  const hash = sha256Hex(path);
  return { path, size: 1, hash, mtime: Date.UTC(2024, 0, 15), chunks: [{ hash, size: 1 }] };
};

describe('directory listings', () => {
  let server: Server;
  let port: number;
  let snap: Snapshot;

  const list = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString() }));
      }).on('error', reject);
    });

  beforeAll(async () => {
    snap = makeSnapshot(3, [entry('many/a.txt'), entry('many/b.txt'), entry('other/c.txt')]);
    const handler = createContentHandler({
      name: 'uk-london',
      store: {} as Store,
      log: pino({ level: 'silent' }),
      current: () => snap,
      dirListing: true,
    });
    server = createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('are rendered once per version and directory, not per request', async () => {
    const render = vi.mocked(listing.renderListing);
    render.mockClear();
    const first = await list('/many/');
    expect(first.status).toBe(200);
    expect(first.body).toContain('b.txt');
    for (let i = 0; i < 5; i++) expect((await list('/many/')).body).toBe(first.body);
    expect(render).toHaveBeenCalledTimes(1);
    expect((await list('/other/')).body).toContain('c.txt');
    expect(render).toHaveBeenCalledTimes(2);

    // The next version's listing is its own.
    snap = makeSnapshot(4, [entry('many/a.txt'), entry('many/d.txt')]);
    const next = await list('/many/');
    expect(next.body).toContain('d.txt');
    expect(next.body).not.toContain('b.txt');
    expect(next.body).toContain('version 4');
    expect(render).toHaveBeenCalledTimes(3);
  });
});
