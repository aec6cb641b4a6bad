import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@outpost/store';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// One file of the tree fails to read (EACCES cannot be staged as root, so the read is made to
// fail the way it would): it must be reported and skipped while the rest is published.
vi.mock('./read-file.js', async (original) => {
  const real = await original<typeof import('./read-file.js')>();
  return {
    ...real,
    readFileIntoStore: async (abs: string, ...rest: [string, never, number]) => {
      if (abs.endsWith('locked.txt'))
        throw Object.assign(new Error('permission denied'), { code: 'EACCES', syscall: 'open' });
      return real.readFileIntoStore(abs, ...rest);
    },
  };
});

// A folder that cannot be read, as EACCES or EIO would make it (root reads anything, so the
// listing is made to fail the way it would).
const unreadableDirs = new Set<string>();
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    readdir: (async (path: string, ...rest: unknown[]) => {
      if (unreadableDirs.has(path))
        throw Object.assign(new Error('permission denied'), { code: 'EACCES', syscall: 'scandir' });
      return (real.readdir as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof real.readdir,
  };
});

// A path in a folder that cannot be searched: lstat fails with EACCES.
const unsearchable = new Set<string>();
vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  return {
    ...real,
    lstatSync: ((path: string, ...rest: unknown[]) => {
      if (unsearchable.has(path))
        throw Object.assign(new Error('permission denied'), { code: 'EACCES', syscall: 'lstat' });
      return (real.lstatSync as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof real.lstatSync,
  };
});

const { Publisher } = await import('./publisher.js');
const { WriteBuffer } = await import('./write-buffer.js');
type PublisherOptions = import('./publisher.js').PublisherOptions;

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-publisher-'));
  mkdirSync(join(dir, 'content'));
  store = openStore(join(dir, 'master.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A publisher over dir/content with a silent log, and the versions it publishes, in order. */
function publisherOver(extra: Partial<PublisherOptions> = {}) {
  const published: number[] = [];
  const p = new Publisher({
    contentDir: join(dir, 'content'),
    store,
    log: pino({ level: 'silent' }),
    onPublished: (v) => published.push(v.version),
    ...extra,
  });
  return { p, published };
}

describe('Publisher', () => {
  it("tells a large change's new chunks ahead, for the next version; a hook that throws fails nothing", async () => {
    for (let i = 0; i < 3; i++)
      writeFileSync(join(dir, 'content', `f${i}.bin`), randomBytes(4 * 1024 * 1024));
    const told: { version: number; bytes: number }[] = [];
    const warned: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warned.push(JSON.parse(line).msg) });
    const { p, published } = publisherOver({
      log,
      onStoredAhead: (version, chunks) => {
        told.push({ version, bytes: chunks.reduce((n, c) => n + c.size, 0) });
        throw new Error('a replica link broke');
      },
    });
    await p.reconcile();
    expect(published).toEqual([1]);
    // 12 MiB: the first 8 MiB batch is committed while the rest is read, and told.
    expect(told.length).toBeGreaterThan(0);
    expect(told.every((t) => t.version === 1)).toBe(true);
    expect(told[0]!.bytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(warned).toContain(
      'could not tell replicas chunks ahead of their version; they fetch them once it is cut',
    );
  });

  it('hands the store only the chunks an edited file did not already have', async () => {
    // Fixed bytes (AES-CTR of zeros): the chunks the flip changes are the same every run.
    const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16));
    const big = cipher.update(Buffer.alloc(3 * 1024 * 1024));
    writeFileSync(join(dir, 'content', 'big.bin'), big);
    const { p, published } = publisherOver();
    await p.reconcile();
    const before = store.versions.liveTree().get('big.bin')!.chunks.length;
    expect(before).toBeGreaterThan(10);
    const puts = vi.spyOn(WriteBuffer.prototype, 'put');
    try {
      // One byte flipped in the middle.
      big[big.length >> 1]! ^= 0xff;
      writeFileSync(join(dir, 'content', 'big.bin'), big);
      await p.submit(['big.bin']);
      expect(published).toEqual([1, 2]);
      expect(store.versions.liveTree().get('big.bin')!.hash).toBe(
        createHash('sha256').update(big).digest('hex'),
      );
      // The chunk that holds the byte (and at most the next, should its boundary move): not
      // every chunk of the file again.
      expect(puts.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(puts.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      puts.mockRestore();
      await p.close();
    }
  });

  it('reports an unreadable file and publishes the rest', async () => {
    writeFileSync(join(dir, 'content', 'ok.txt'), 'fine\n');
    writeFileSync(join(dir, 'content', 'locked.txt'), 'secret\n');
    const { p, published } = publisherOver();
    await p.reconcile();
    expect(published).toEqual([1]);
    expect([...store.versions.liveTree().keys()]).toEqual(['ok.txt']);
    expect(p.problems.get('locked.txt')).toBe('unreadable: EACCES');
    await p.close();
  });

  it('retries a batch the store refused (a full disk), blaming no file, until it goes through', async () => {
    // More files than a write batch holds, so that one fills and is written while files are read.
    mkdirSync(join(dir, 'content', 'many'));
    for (let i = 0; i < 1100; i++) writeFileSync(join(dir, 'content', 'many', `${i}.bin`), randomBytes(1024));
    writeFileSync(join(dir, 'content', 'small.txt'), 'small\n');
    // SQLite's own SQLITE_FULL, as on a full disk: the database may grow by a few pages only.
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 4}`);
    const { p, published } = publisherOver({ failedBatchRetryMs: 20 });
    let reconciled = false;
    const reconciling = p.reconcile().then(() => {
      reconciled = true;
    });
    await vi.waitFor(() => expect(p.failure?.message).toMatch(/full/), { timeout: 10_000, interval: 5 });
    // Tried again and again, and the reconcile waits for it: no version, no file blamed.
    await vi.waitFor(() => expect(p.failure!.retryAt - p.failure!.at).toBeGreaterThanOrEqual(80), {
      timeout: 10_000,
      interval: 5,
    });
    expect(reconciled).toBe(false);
    expect(published).toEqual([]);
    expect(p.problems.size).toBe(0);

    // Room again: the next attempt publishes the whole tree.
    store.db.pragma('max_page_count = 4294967294');
    await reconciling;
    expect(p.failure).toBeNull();
    expect(published).toEqual([1]);
    expect(store.versions.liveTree().size).toBe(1101);
    await p.close();
  });

  it('publishes no empty tree when the content directory itself is gone, and tries again', async () => {
    const content = join(dir, 'content');
    writeFileSync(join(content, 'a.txt'), 'a\n');
    const { p, published } = publisherOver({ failedBatchRetryMs: 20 });
    await p.reconcile();
    expect(published).toEqual([1]);
    // Moved away (or unmounted): every path reads as gone.
    renameSync(content, join(dir, 'moved'));
    await expect(p.submit(['a.txt'])).rejects.toThrow(/content directory .* is gone/);
    expect(p.failure?.message).toMatch(/is gone/);
    expect([...store.versions.liveTree().keys()]).toEqual(['a.txt']);
    // Back again: the retry finds nothing changed, and publishing works again.
    renameSync(join(dir, 'moved'), content);
    await vi.waitFor(() => expect(p.failure).toBeNull(), { timeout: 10_000, interval: 5 });
    expect(published).toEqual([1]);
    await p.close();
  });

  it('names, and does not publish, a file whose name is not UTF-8 or that is a named pipe', async () => {
    const content = join(dir, 'content');
    mkdirSync(join(content, 'sub'));
    writeFileSync(join(content, 'ok.txt'), 'fine\n');
    // Latin-1 bytes, as an old archive leaves them: Node reads the name as 'caf\uFFFD.txt'.
    writeFileSync(Buffer.from(`${content}/sub/caf\xe9.txt`, 'latin1'), 'bonjour\n');
    execFileSync('mkfifo', [join(content, 'pipe')]);
    const { p, published } = publisherOver();
    await p.reconcile();
    expect(published).toEqual([1]);
    expect([...store.versions.liveTree().keys()]).toEqual(['ok.txt']);
    expect(Object.fromEntries(p.problems)).toEqual({
      'sub/caf\uFFFD.txt': 'name is not valid UTF-8',
      pipe: 'not a regular file: a named pipe',
    });
    // An event for either path (the watcher names the first as Node decoded it) keeps the refusal.
    await p.submit(['sub/caf\uFFFD.txt', 'pipe', 'sub']);
    expect(p.problems.size).toBe(2);
    // Renamed to a UTF-8 name, it is published; gone, the pipe is no longer a problem.
    renameSync(Buffer.from(`${content}/sub/caf\xe9.txt`, 'latin1'), join(content, 'sub', 'café.txt'));
    rmSync(join(content, 'pipe'));
    await p.submit(['sub/caf\uFFFD.txt', 'sub/café.txt', 'pipe']);
    expect([...store.versions.liveTree().keys()].sort()).toEqual(['ok.txt', 'sub/café.txt']);
    expect(p.problems.size).toBe(0);
    await p.close();
  });

  it('publishes a symlink to a file of the tree with its bytes, follows its edits, and refuses the rest', async () => {
    const content = join(dir, 'content');
    // Written a minute ago, so the index vouches for what it records (no racy entries).
    const write = (path: string, text: string) => {
      writeFileSync(join(content, path), text);
      const old = new Date(Date.now() - 60_000);
      utimesSync(join(content, path), old, old);
    };
    mkdirSync(join(content, 'pkg'));
    write('pkg/tool-1.2.tgz', 'v1.2\n');
    writeFileSync(join(dir, 'secret'), 'not for readers\n');
    symlinkSync('pkg/tool-1.2.tgz', join(content, 'latest.tgz'));
    symlinkSync('latest.tgz', join(content, 'current.tgz'));
    symlinkSync(join(dir, 'secret'), join(content, 'escape'));
    symlinkSync('pkg', join(content, 'pkglink'));
    symlinkSync('gone.txt', join(content, 'dangling'));
    symlinkSync('loop', join(content, 'loop'));
    const { p, published } = publisherOver();
    const hashOf = (path: string) => store.versions.liveTree().get(path)?.hash;
    await p.reconcile();
    expect(published).toEqual([1]);
    expect([...store.versions.liveTree().keys()].sort()).toEqual([
      'current.tgz',
      'latest.tgz',
      'pkg/tool-1.2.tgz',
    ]);
    expect(hashOf('latest.tgz')).toBe(sha256('v1.2\n'));
    expect(hashOf('current.tgz')).toBe(sha256('v1.2\n'));
    expect(Object.fromEntries(p.problems)).toEqual({
      escape: 'symbolic link leads out of the content directory',
      pkglink: 'symbolic link to a directory: not followed',
      dangling: 'symbolic link leads nowhere',
      loop: 'symbolic link loops',
    });

    // The watcher names only the target: its links change with it.
    write('pkg/tool-1.2.tgz', 'v1.2 fixed\n');
    await p.submit(['pkg/tool-1.2.tgz']);
    expect(hashOf('latest.tgz')).toBe(sha256('v1.2 fixed\n'));
    expect(hashOf('current.tgz')).toBe(sha256('v1.2 fixed\n'));
    expect(published).toEqual([1, 2]);

    // The file a dangling link names appears: the link is published with it.
    write('gone.txt', 'here now\n');
    await p.submit(['gone.txt']);
    expect(hashOf('dangling')).toBe(sha256('here now\n'));
    expect(p.problems.has('dangling')).toBe(false);

    // A link retargeted out of the tree leaves it; its old target's edits no longer touch it.
    rmSync(join(content, 'latest.tgz'));
    symlinkSync(join(dir, 'secret'), join(content, 'latest.tgz'));
    await p.submit(['latest.tgz']);
    expect(hashOf('latest.tgz')).toBeUndefined();
    expect(p.problems.get('latest.tgz')).toBe('symbolic link leads out of the content directory');
    // The target's folder moved away: the links through it go too.
    renameSync(join(content, 'pkg'), join(content, 'pkg-old'));
    await p.submit(['pkg', 'pkg-old']);
    expect(hashOf('current.tgz')).toBeUndefined();
    expect(hashOf('pkg-old/tool-1.2.tgz')).toBe(sha256('v1.2 fixed\n'));
    await p.close();

    // A restart over the same tree reads nothing, links included.
    const again = publisherOver();
    const before = store.versions.current().version;
    await again.p.reconcile();
    expect(again.p.filesRead).toBe(0);
    expect(store.versions.current().version).toBe(before);
    await again.p.close();
  });

  it('cuts a version past one a replica holds, with the latest content, only when needed', async () => {
    writeFileSync(join(dir, 'content', 'a.txt'), 'a\n');
    const { p, published } = publisherOver();
    await p.reconcile();
    const v1 = store.versions.current();
    expect(await p.advancePast(7)).toMatchObject({ version: 8, root: v1.root, files: 1, changes: 0 });
    expect(store.versions.current()).toEqual({ version: 8, root: v1.root });
    expect([...store.versions.liveTree().keys()]).toEqual(['a.txt']);
    // Already past it, or the same: nothing to cut.
    expect(await p.advancePast(3)).toBeNull();
    expect(await p.advancePast(8)).toMatchObject({ version: 9 });
    // Implausibly far ahead: not followed.
    expect(await p.advancePast(Number.MAX_SAFE_INTEGER - 1)).toBeNull();
    expect(published).toEqual([1, 8, 9]);
    // Numbering goes on from there.
    writeFileSync(join(dir, 'content', 'b.txt'), 'b\n');
    await p.submit(['b.txt']);
    expect(published).toEqual([1, 8, 9, 10]);
    await p.close();
  });

  it('keeps what the tree holds under a folder that becomes unreadable, and says why', async () => {
    const content = join(dir, 'content');
    mkdirSync(join(content, 'docs', 'deep'), { recursive: true });
    writeFileSync(join(content, 'docs', 'a.txt'), 'a\n');
    writeFileSync(join(content, 'docs', 'deep', 'b.txt'), 'b\n');
    writeFileSync(join(content, 'ok.txt'), 'ok\n');
    const { p, published } = publisherOver();
    await p.reconcile();
    // chmod 000 docs/deep, say: the watcher names the folder, which can no longer be listed.
    unreadableDirs.add(join(content, 'docs', 'deep'));
    try {
      await p.submit(['docs']);
      expect([...store.versions.liveTree().keys()].sort()).toEqual([
        'docs/a.txt',
        'docs/deep/b.txt',
        'ok.txt',
      ]);
      expect(published).toEqual([1]);
      expect(p.problems.get('docs/deep')).toBe('unreadable directory: EACCES');
    } finally {
      unreadableDirs.clear();
    }
    // Its files named one by one (a rewalk's suspects) cannot even be stat'ed: kept, reported,
    // and publishing goes on (it had failed the batch, retried for ever).
    unsearchable.add(join(content, 'docs', 'deep', 'b.txt'));
    try {
      await p.submit(['docs/deep/b.txt']);
      expect(p.failure).toBeNull();
      expect([...store.versions.liveTree().keys()]).toContain('docs/deep/b.txt');
      expect(p.problems.get('docs/deep/b.txt')).toBe('unreadable: EACCES');
    } finally {
      unsearchable.clear();
    }
    // Readable again: the refusal goes, and a file gone meanwhile is a delete as usual.
    rmSync(join(content, 'docs', 'deep', 'b.txt'));
    await p.submit(['docs']);
    expect([...store.versions.liveTree().keys()].sort()).toEqual(['docs/a.txt', 'ok.txt']);
    expect(p.problems.size).toBe(0);
    await p.close();
  });

  it('keeps what the tree holds for a file that becomes unreadable, and says why', async () => {
    writeFileSync(join(dir, 'content', 'a.txt'), 'a\n');
    const p = new Publisher({
      contentDir: join(dir, 'content'),
      store,
      log: pino({ level: 'silent' }),
      onPublished: () => undefined,
    });
    await p.reconcile();
    // A file that vanishes mid-way is a delete; one that cannot be read is left as it was.
    writeFileSync(join(dir, 'content', 'locked.txt'), 'x\n');
    rmSync(join(dir, 'content', 'a.txt'));
    await p.submit(['a.txt', 'locked.txt']);
    expect([...store.versions.liveTree().keys()]).toEqual([]);
    expect(p.problems.has('locked.txt')).toBe(true);
    await p.close();
  });

  it('logs the progress of a long batch, and tells it in status while it runs', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 2000; i++) {
      writeFileSync(join(dir, 'content', `f${i}.txt`), `file ${i}\n`.repeat(20));
      paths.push(`f${i}.txt`);
    }
    const lines: { msg: string; filesDone: number; filesTotal: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const p = new Publisher({
      contentDir: join(dir, 'content'),
      store,
      log,
      onPublished: () => undefined,
      progressLogMs: 5,
    });
    expect(p.publishing).toBeNull();
    const seen: number[] = [];
    const watch = setInterval(() => {
      if (p.publishing) seen.push(p.publishing.filesDone);
    }, 1);
    await p.submit(paths);
    clearInterval(watch);
    expect(p.publishing).toBeNull();
    const progress = lines.filter((l) => l.msg === 'publish progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const l of progress) expect(l).toMatchObject({ filesTotal: 2000 });
    expect(Math.max(...progress.map((l) => l.filesDone))).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    await p.close();
  });

  it('gives the event loop turns while it reads many small files', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 2000; i++) {
      writeFileSync(join(dir, 'content', `f${i}.txt`), `file ${i}\n`.repeat(20));
      paths.push(`f${i}.txt`);
    }
    const p = new Publisher({
      contentDir: join(dir, 'content'),
      store,
      log: pino({ level: 'silent' }),
      onPublished: () => undefined,
    });
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 1);
    const start = performance.now();
    // Small files are read with blocking calls: without a turn now and then, no timer (and no
    // socket) would be served until all 2,000 were in.
    await p.submit(paths);
    const end = performance.now();
    clearInterval(timer);
    expect(store.versions.liveTree().size).toBe(2000);
    // A turn every few milliseconds of reading: the timer ran all along (without: once, or never).
    const during = ticks.filter((t) => t > start && t < end);
    expect(during.length).toBeGreaterThanOrEqual(Math.min(5, Math.floor((end - start) / 10)));
    await p.close();
  });

  describe('rewalk', () => {
    const content = () => join(dir, 'content');
    const publisher = () =>
      new Publisher({
        contentDir: content(),
        store,
        log: pino({ level: 'silent' }),
        onPublished: () => undefined,
      });

    it('finds what no event told: new, changed and gone files, and reads only those', async () => {
      for (let i = 0; i < 50; i++) writeFileSync(join(content(), `f${i}.txt`), `file ${i}\n`);
      const p = publisher();
      await p.reconcile();
      // Old enough that the index vouches for them (no racy entries).
      const old = new Date(Date.now() - 60_000);
      for (let i = 0; i < 50; i++) utimesSync(join(content(), `f${i}.txt`), old, old);
      await p.rewalk();
      const v = store.versions.current().version;
      const read = p.filesRead;

      expect(await p.rewalk()).toBe(0);
      expect(p.filesRead).toBe(read);
      expect(store.versions.current().version).toBe(v);

      writeFileSync(join(content(), 'f1.txt'), 'changed, longer\n');
      writeFileSync(join(content(), 'new.txt'), 'new\n');
      rmSync(join(content(), 'f2.txt'));
      expect(await p.rewalk()).toBe(3);
      expect(p.filesRead).toBe(read + 2);
      const tree = store.versions.liveTree();
      expect(tree.has('new.txt')).toBe(true);
      expect(tree.has('f2.txt')).toBe(false);
      expect(tree.get('f1.txt')!.size).toBe('changed, longer\n'.length);
      await p.close();
    });

    it('runs one at a time: those asked for meanwhile share one more, which sees what came after', async () => {
      const old = new Date(Date.now() - 60_000);
      for (let i = 0; i < 20; i++) {
        writeFileSync(join(content(), `f${i}.txt`), `file ${i}\n`);
        utimesSync(join(content(), `f${i}.txt`), old, old);
      }
      const p = publisher();
      await p.reconcile();
      const walks = vi.spyOn(store.scanIndex, 'all');
      const first = p.rewalk();
      // Written once the first walk began: the walk that follows it sees it, if that one did not.
      writeFileSync(join(content(), 'late.txt'), 'late\n');
      const second = p.rewalk();
      const third = p.rewalk();
      expect(third).toBe(second);
      expect((await first) + (await second)).toBeGreaterThanOrEqual(1);
      expect(walks).toHaveBeenCalledTimes(2);
      expect(store.versions.liveTree().has('late.txt')).toBe(true);
      walks.mockRestore();
      await p.close();
    });

    it('never misses a same-size edit made in the same clock tick as the scan', async () => {
      const file = join(content(), 'a.txt');
      writeFileSync(file, 'AAAA');
      const p = publisher();
      await p.reconcile();
      const { mtime } = statSync(file);
      // Same size, same mtime and inode: only the bytes differ, as when an edit lands within
      // the timestamp tick of the scan that recorded the file.
      writeFileSync(file, 'BBBB');
      utimesSync(file, mtime, mtime);
      expect(await p.rewalk()).toBe(1);
      expect(store.versions.liveTree().get('a.txt')!.hash).toBe(
        createHash('sha256').update('BBBB').digest('hex'),
      );
      await p.close();
    });
  });

  describe('the sweep at start', () => {
    const orphan = Buffer.from('stored by a batch that never became a version');
    const orphanHash = createHash('sha256').update(orphan).digest('hex');
    const start = () =>
      new Publisher({
        contentDir: join(dir, 'content'),
        store,
        log: pino({ level: 'silent' }),
        onPublished: () => undefined,
      });

    it('runs after a crash (no clean-stop mark) and collects chunks no version names', async () => {
      writeFileSync(join(dir, 'content', 'a.txt'), 'a\n');
      store.chunks.put(orphanHash, orphan);
      const p = start();
      await p.reconcile();
      expect(store.chunks.has(orphanHash)).toBe(false);
      await p.close();
    });

    it('is skipped after a clean stop, which leaves nothing to sweep', async () => {
      writeFileSync(join(dir, 'content', 'a.txt'), 'a\n');
      const first = start();
      await first.reconcile();
      await first.close();
      // Planted behind the clean stop's back: the skipped sweep leaves it.
      store.chunks.put(orphanHash, orphan);
      const second = start();
      await second.reconcile();
      expect(store.chunks.has(orphanHash)).toBe(true);
      // This run ends in a crash (no close): the next start sweeps.
      const third = start();
      await third.reconcile();
      expect(store.chunks.has(orphanHash)).toBe(false);
      await third.close();
    });
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
