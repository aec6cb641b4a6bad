import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { Publisher, type PublisherOptions } from './publisher.js';

/** A Publisher made by a fixture, with the versions it published, in order. */
export interface FixturePublisher {
  p: Publisher;
  published: number[];
}

/** For tests: a fresh temp dir per test, holding `content/` and a master store, and Publishers over them. */
export function publisherFixture(prefix: string, defaults: Partial<PublisherOptions> = {}) {
  let dir = '';
  let store: Store | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    mkdirSync(join(dir, 'content'));
    store = openStore(join(dir, 'master.sqlite'));
  });
  afterEach(() => {
    store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    /** The test's temp dir. */
    get dir(): string {
      return dir;
    },
    /** The content folder the Publishers watch. */
    get content(): string {
      return join(dir, 'content');
    },
    get store(): Store {
      if (!store) throw new Error('publisherFixture: used outside a test');
      return store;
    },
    /** A Publisher over the content folder and store, with the fixture's defaults and `extra`. */
    publisher(extra: Partial<PublisherOptions> = {}): FixturePublisher {
      const published: number[] = [];
      const p = new Publisher({
        contentDir: join(dir, 'content'),
        store: this.store,
        log: pino({ level: 'silent' }),
        onPublished: (v) => published.push(v.version),
        ...defaults,
        ...extra,
      });
      return { p, published };
    },
    /** As publisher(), reconciled with the tree. */
    async reconciled(extra: Partial<PublisherOptions> = {}): Promise<FixturePublisher> {
      const made = this.publisher(extra);
      await made.p.reconcile();
      return made;
    },
  };
}
