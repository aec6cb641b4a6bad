import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, getJson } from './helpers/http.js';
import { runCli, type Service, startMaster, startReplica, tempDir } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * `--exclude`: paths the master never publishes. A git checkout as the content directory must
 * not put its `.git` (remote URLs with credentials, the whole history) on every replica.
 */
describe('master --exclude', () => {
  let dir: ReturnType<typeof tempDir>;
  let content: string;
  const services: Service[] = [];
  beforeEach(() => {
    dir = tempDir();
    content = join(dir.path, 'content');
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    dir.cleanup();
  });

  const write = (rel: string, data: string) => {
    mkdirSync(dirname(join(content, rel)), { recursive: true });
    writeFileSync(join(content, rel), data);
  };

  /** The paths of the master's latest version, once it holds `want` (and `want` is in it). */
  const published = async (master: Service, want: string) =>
    waitFor(
      async () => {
        const s = await getJson(`${master.url}/_outpost/api/v1/status`);
        if (s.version === 0) return null;
        const v = await getJson(`${master.url}/_outpost/api/v1/versions/${s.version}`);
        const paths = (v.entries as { path: string }[]).map((e) => e.path).sort();
        return paths.includes(want) ? paths : null;
      },
      { timeoutMs: 15_000, what: `${want} published` },
    );

  it('leaves matching files and folders out of every version, at start, as they change, and after a restart', async () => {
    write('index.html', '<h1>home</h1>');
    write('.git/config', '[remote "origin"]\n\turl = https://user:secret@git.example/site.git\n');
    write('.git/objects/ab/cdef', 'blob');
    write('drafts/next.html', 'not yet');
    write('blog/drafts/kept.html', 'a folder named drafts elsewhere: /drafts is anchored');
    write('server.log', 'log');
    write('blog/deep/debug.log', 'log');
    write('build/app.js.map', 'map');
    write('build/app.js', 'js');
    symlinkSync('.git/config', join(content, 'config-link'));
    const data = join(dir.path, 'master');
    const args = ['--exclude', '.git', '--exclude', '/drafts/;*.log', '--exclude', 'build/**/*.map'];
    let master = await startMaster({ content, data, args });
    services.push(master);
    expect(master.logs.find((l) => l.msg === 'outpost master listening')?.exclude).toEqual([
      '.git',
      '/drafts/',
      '*.log',
      'build/**/*.map',
    ]);
    expect(await published(master, 'index.html')).toEqual([
      'blog/drafts/kept.html',
      'build/app.js',
      'index.html',
    ]);
    expect((await getJson(`${master.url}/_outpost/api/v1/status`)).exclude).toEqual([
      '.git',
      '/drafts/',
      '*.log',
      'build/**/*.map',
    ]);
    const shown = await runCli(['status', '--master', master.url]);
    expect(shown.stdout).toContain('left out (--exclude): ".git" "/drafts/" "*.log" "build/**/*.map"');
    // A link to a path left out is refused, as a link out of the tree is.
    const problems = await getJson(`${master.url}/_outpost/api/v1/problems`);
    expect(problems.problems).toEqual([
      {
        path: 'config-link',
        problem: expect.stringMatching(/leads to ".git\/config", which is not published/),
      },
    ]);

    const replica = await startReplica({
      name: 'uk-london',
      region: 'uk',
      master: master.url,
      data: join(dir.path, 'replica'),
    });
    services.push(replica);
    await waitFor(async () => (await get(`${replica.url}/index.html`)).status === 200 || null, {
      timeoutMs: 15_000,
      what: 'replica serving',
    });
    for (const path of [
      '.git/config',
      'drafts/next.html',
      'server.log',
      'blog/deep/debug.log',
      'build/app.js.map',
    ])
      expect((await get(`${replica.url}/${path}`)).status, path).toBe(404);

    // Changes under what is left out publish nothing; the next visible change shows it.
    write('.git/HEAD', 'ref: refs/heads/main\n');
    write('drafts/later.html', 'not yet');
    write('new.log', 'log');
    write('about.html', 'about');
    expect(await published(master, 'about.html')).toEqual([
      'about.html',
      'blog/drafts/kept.html',
      'build/app.js',
      'index.html',
    ]);

    // A restart without `*.log` and the `.map` rule: what they left out is published now.
    await master.stop();
    services.splice(services.indexOf(master), 1);
    const port = Number(new URL(master.url).port);
    master = await startMaster({ content, data, port, args: ['--exclude', '.git;/drafts'] });
    services.push(master);
    expect(await published(master, 'server.log')).toEqual([
      'about.html',
      'blog/deep/debug.log',
      'blog/drafts/kept.html',
      'build/app.js',
      'build/app.js.map',
      'index.html',
      'new.log',
      'server.log',
    ]);
  });

  it('a rollback restores none of what is left out, and removes none of it', async () => {
    write('index.html', 'one');
    write('notes.log', 'the log as version 1 held it');
    write('docs', 'docs was a file');
    const data = join(dir.path, 'master');
    let master = await startMaster({ content, data });
    services.push(master);
    await published(master, 'notes.log');
    const v1 = (await getJson(`${master.url}/_outpost/api/v1/status`)).version;

    await master.stop();
    services.splice(services.indexOf(master), 1);
    const port = Number(new URL(master.url).port);
    master = await startMaster({ content, data, port, args: ['--exclude', '*.log;.git'] });
    services.push(master);
    write('notes.log', 'the log today');
    rmSync(join(content, 'docs'));
    write('docs/page.html', 'docs is a folder now');
    write('docs/.git/HEAD', 'ref: refs/heads/main');
    expect(await published(master, 'docs/page.html')).toEqual(['docs/page.html', 'index.html']);

    // The version has a file where a folder holds what is left out: refused, nothing changed.
    const refused = await runCli(['rollback', '--master', master.url, '--to', String(v1)]);
    expect(refused.code, refused.stderr).not.toBe(0);
    expect(refused.stderr).toMatch(/409/);
    expect(refused.stderr).toMatch(/docs is a folder now, holding docs\/\.git/);
    expect(readFileSync(join(content, 'docs/page.html'), 'utf8')).toBe('docs is a folder now');

    rmSync(join(content, 'docs/.git'), { recursive: true });
    const ok = await runCli(['rollback', '--master', master.url, '--to', String(v1)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(content, 'docs'), 'utf8')).toBe('docs was a file');
    expect(readFileSync(join(content, 'notes.log'), 'utf8')).toBe('the log today');
    expect(await published(master, 'docs')).toEqual(['docs', 'index.html']);
  });

  it('refuses patterns it cannot honour, with the reason', async () => {
    const data = join(dir.path, 'master');
    mkdirSync(content, { recursive: true });
    for (const [pattern, reason] of [
      ['!keep.html', /negation \(!\) is not supported/],
      ['../outside', /no \. or \.\. folders/],
      ['/', /the whole content directory/],
      ['*', /the whole content directory/],
    ] as const) {
      const r = await runCli([
        'master',
        '--content',
        content,
        '--data',
        data,
        '--port',
        '0',
        '--exclude',
        pattern,
      ]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(reason);
    }
    const empty = await runCli(['master', '--content', content, '--data', data, '--exclude', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--exclude '': an empty value/);
  });
});
