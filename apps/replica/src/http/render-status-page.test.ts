import type { ReplicaStatus } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { renderReplicaPage } from './render-status-page.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const status = (extra: Partial<ReplicaStatus> = {}): ReplicaStatus => ({
  role: 'replica',
  name: 'uk-london',
  region: 'uk',
  version: 7,
  root: 'cd'.repeat(32),
  masterVersion: 9,
  state: 'syncing',
  link: 'push',
  lastSyncAt: new Date(NOW - 120_000).toISOString(),
  error: null,
  files: 12,
  bytes: 3 * 1024 * 1024,
  applying: null,
  ...extra,
});
const counters = { requests: 1500, openConnections: 3, damagedFound: 1, damagedRepaired: 1, scrubbed: 40 };

describe('renderReplicaPage', () => {
  it('shows the version served, the state, the lag and what it served and mended', () => {
    const html = renderReplicaPage(status(), counters, NOW);
    expect(html).toContain(
      '<h1>Version 7 <span class="state-syncing"><span class="badge">syncing</span></span></h1>',
    );
    expect(html).toContain('<dt>lag</dt><dd>2</dd>');
    expect(html).toContain('<dt>size</dt><dd>3.0 MiB</dd>');
    expect(html).toContain('<dt>last applied</dt><dd>2m ago</dd>');
    expect(html).toContain('<dt>requests</dt><dd>1500</dd>');
  });

  it('says what it is applying, and its error as text', () => {
    const html = renderReplicaPage(
      status({
        error: 'cannot reach the master at http://hq:7070: <b>refused</b>',
        applying: {
          version: 9,
          filesDone: 10,
          filesTotal: 40,
          bytesDone: 1024 * 1024,
          bytesTotal: 4 * 1024 * 1024,
          bytesPerSecond: 1024 * 1024,
          etaSeconds: 3,
        },
        masterVersion: null,
      }),
      counters,
      NOW,
    );
    expect(html).toContain(
      '<p class="alert">cannot reach the master at http://hq:7070: &#60;b&#62;refused&#60;/b&#62;</p>',
    );
    expect(html).toContain('Applying version 9: 10 of 40 files, 1.0 MiB of 4.0 MiB, about 3s left.');
    expect(html).toContain('<dt>lag</dt><dd>not heard yet</dd>');
  });

  it('says what it has fetched ahead of a version the master is still reading', () => {
    const ahead = { version: 8, chunks: 240, bytes: 16 * 1024 * 1024, queued: 12 };
    const html = renderReplicaPage(status({ fetchingAhead: ahead }), counters, NOW);
    expect(html).toContain(
      'Fetching ahead of version 8, which the master is still reading: 16.0 MiB in 240 chunks so far; 12 more chunks to fetch.',
    );
    expect(renderReplicaPage(status({ fetchingAhead: null }), counters, NOW)).not.toContain('Fetching ahead');
  });
});
