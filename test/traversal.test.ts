import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { RawConnection, type RawResponse } from './helpers/raw-http.js';

/*
 * A path traversal corpus thrown at a real replica, every vector as a raw request target.
 *
 * Sources:
 *  - test/fixtures/wfuzz/*.txt: wordlists from Debian's `wfuzz` 3.1.0-2
 *    (/usr/share/wfuzz/wordlist/Injections/Traversal.txt and vulns/dirTraversal*.txt; wfuzz by
 *    Christian Martorella, Carlos del Ojo, Xavier Mendez; dirTraversal by Luca Carettoni;
 *    GPL-2). Copied into the repo as test data so the test runs without the package; see
 *    test/fixtures/wfuzz/README.md.
 *  - a generator below: `..`/`.` in every encoding × separators × depths × targets, NUL and
 *    control characters, absolute and drive-letter paths, very long paths, `;`/`?`/`#` tricks.
 *
 * Why raw sockets: undici's `path` option runs the target through WHATWG URL parsing, which
 * resolves `..` and `%2e%2e`, turns `\` into `/`, strips tabs and `#…` and re-encodes
 * non-ASCII, so most vectors would never reach the server as written.
 */

const REPLICA = 'trav-x';
const TOKEN = `outpost-secret-${randomBytes(16).toString('hex')}`;
const TMP_SECRET = join(tmpdir(), `outpost-secret-${randomBytes(6).toString('hex')}.txt`);

/** The tree the master publishes; `etc/passwd` is a tree file, so `/etc/passwd` is a legitimate 200. */
const FILES: Record<string, string> = {
  'legit.txt': 'legit bytes\n',
  'docs/index.html': '<h1>docs</h1>\n',
  'docs/guide.md': '# guide\n',
  'etc/passwd': 'not the system passwd\n',
  '..data.txt': 'a name that starts with two dots is a plain name\n',
};
const DIRS = new Set(['docs', 'etc']);
/** Markers of things that must never be served: the secret, the system passwd, a SQLite file. */
const FORBIDDEN = [TOKEN, 'root:x:0:0', 'SQLite format 3'];

const POOL = 8;

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, 'fixtures/wfuzz', name), 'latin1')
    .split(/\r?\n/)
    .filter((l) => l !== '' && !l.startsWith('# ') && l !== '#');

/** The UTF-8 bytes of a string, one latin1 char per byte, as they go on the wire. */
const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

function buildCorpus(fleetDir: string): { wordlist: string[]; generated: string[] } {
  const dataTargets = [
    'secret.txt',
    `replica-${REPLICA}/secret.txt`,
    `replica-${REPLICA}/replica.sqlite`,
    `replica-${REPLICA}/replica.sqlite-wal`,
    'master/master.sqlite',
    'etc/passwd',
    `${TMP_SECRET.slice(1)}`,
  ];

  // --- from the wordlists ---
  const wordlist: string[] = [];
  for (const name of ['Traversal.txt', 'dirTraversal-nix.txt', 'dirTraversal-win.txt']) {
    for (const v of fixture(name)) {
      wordlist.push(v.startsWith('/') ? v : `/${v}`);
      if (name === 'Traversal.txt') wordlist.push(v); // as written, origin-form or not
    }
  }
  for (const v of fixture('dirTraversal.txt')) {
    for (const file of ['secret.txt', `replica-${REPLICA}/replica.sqlite`, 'etc/passwd', 'boot.ini']) {
      const s = v.replaceAll('{FILE}', file);
      wordlist.push(s.startsWith('/') ? s : `/${s}`);
    }
  }

  // --- generated ---
  const DOTDOT = [
    '..',
    '%2e%2e',
    '%2E%2E',
    '.%2e',
    '%2e.',
    '%252e%252e',
    '%252E%252E',
    '%25252e%25252e',
    '%2525252e%2525252e',
    '%c0%ae%c0%ae',
    '%C0%AE%C0%AE',
    '%e0%80%ae%e0%80%ae',
    '%f0%80%80%ae%f0%80%80%ae',
    '%c0%2e%c0%2e',
    '%uff0e%uff0e',
    '%u002e%u002e',
    '%ef%bc%8e%ef%bc%8e',
    bytes('\uff0e\uff0e'),
    '..%00',
    '%2e%2e%00',
    '..;',
    '..%3b',
    '...',
    '....',
  ];
  const DOT = ['.', '%2e', '%2E', '%252e', '%c0%ae', '%e0%80%ae', bytes('\uff0e')];
  const SEP = [
    '/',
    '\\',
    '%2f',
    '%2F',
    '%5c',
    '%5C',
    '%252f',
    '%252F',
    '%255c',
    '%25252f',
    '%c0%af',
    '%C0%AF',
    '%c1%9c',
    '%c1%1c',
    '%c0%5c',
    '%e0%80%af',
    '%f0%80%80%af',
    '%ef%bc%8f',
    '%e2%88%95',
    '%e2%81%84',
    '%ef%bc%bc',
    '%u2215',
    '%uff0f',
    bytes('\uff0f'),
    bytes('\u2215'),
    bytes('\u2044'),
    bytes('\uff3c'),
    '//',
    '/./',
    '\\/',
    '%00/',
  ];
  const gen = new Set<string>();
  const join2 = (target: string, sep: string) => target.split('/').join(sep);

  // 1. `..` × separator × depth × the targets that matter most.
  for (const dd of DOTDOT)
    for (const sep of SEP)
      for (const depth of [1, 2, 4])
        for (const t of ['secret.txt', 'etc/passwd', `replica-${REPLICA}/replica.sqlite`])
          gen.add(`/${(dd + sep).repeat(depth)}${join2(t, sep)}`);

  // 2. Every target at every depth with the plain and the most common encoded forms, from / and from a real dir.
  for (const t of dataTargets)
    for (const depth of [1, 2, 3, 4, 5, 6, 8, 12])
      for (const [dd, sep] of [
        ['..', '/'],
        ['%2e%2e', '%2f'],
        ['%2e%2e', '/'],
        ['..', '%2f'],
        ['..', '\\'],
        ['%252e%252e', '%252f'],
        ['%c0%ae%c0%ae', '%c0%af'],
      ] as const)
        for (const from of ['/', '/docs/', '/etc/', '/nope/'])
          gen.add(`${from}${(dd + sep).repeat(depth)}${t}`);

  // 3. `.` then `..`, in mixed encodings, from a real directory.
  for (const d of DOT)
    for (const dd of DOTDOT.slice(0, 12))
      for (const sep of ['/', '%2f', '\\', '%5c', '%c0%af'])
        gen.add(`/docs/${d}${sep}${dd}${sep}${dd}${sep}secret.txt`);

  // 4. Suffix tricks: NUL, `;`, `?`, `#`, stray escapes, after a traversal and after a legitimate file.
  const SUFFIX = [
    '%00',
    '%00.txt',
    '%00.html',
    ';',
    ';.txt',
    ';jsessionid=1',
    '?',
    '?../../secret.txt',
    '?x=%2e%2e%2fsecret.txt',
    '?/../../../etc/passwd',
    '#',
    '#/../../secret.txt',
    '%3f',
    '%3f/../../secret.txt',
    '%23',
    '%23/../secret.txt',
    '/',
    '%20',
    '.',
    '::$DATA',
    '%0a',
    '%0d%0a',
    '%09',
    '%ff',
    '%',
    '%2',
    '%zz',
    '~',
    '.bak',
    '%2500',
  ];
  for (const base of [
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    `/../replica-${REPLICA}/replica.sqlite`,
    '/legit.txt',
    '/etc/passwd',
    '/docs',
  ])
    for (const s of SUFFIX) gen.add(base + s);

  // 5. NUL and control characters, escaped and raw (CR and LF stay escaped: raw they end the line).
  for (let c = 0; c < 0x20; c++) {
    for (const ctl of [
      `%${c.toString(16).padStart(2, '0')}`,
      c === 10 || c === 13 ? '' : String.fromCharCode(c),
    ]) {
      if (!ctl) continue;
      gen.add(`/..${ctl}/secret.txt`);
      gen.add(`/${ctl}../secret.txt`);
      gen.add(`/legit.txt${ctl}`);
      gen.add(`/..${ctl}%2f..${ctl}%2fsecret.txt`);
      gen.add(`/docs/..${ctl}/../secret.txt`);
    }
  }
  for (const ctl of ['%7f', '\x7f', '%c2%80', '%c2%9f', '%ed%a0%80', '%80', '\x80', '\xff', '%fe%ff']) {
    gen.add(`/..${ctl}/secret.txt`);
    gen.add(`/legit.txt${ctl}`);
  }

  // 6. Absolute paths, drive letters, UNC, schemes, non-origin forms.
  const absSecret = join(fleetDir, 'secret.txt');
  for (const v of [
    '/etc/passwd',
    '//etc/passwd',
    '///etc/passwd',
    '/\\etc\\passwd',
    '/%2fetc%2fpasswd',
    '/%5cetc%5cpasswd',
    '/%252fetc%252fpasswd',
    `/${absSecret}`,
    `/${encodeURIComponent(absSecret)}`,
    `/${absSecret.slice(1)}`,
    `/${TMP_SECRET}`,
    `/${TMP_SECRET.slice(1)}`,
    `/${encodeURIComponent(TMP_SECRET)}`,
    `/${join(fleetDir, `replica-${REPLICA}`, 'replica.sqlite')}`,
    `/..${absSecret}`,
    '/C:\\secret.txt',
    '/C:/secret.txt',
    '/C:%5csecret.txt',
    '/C:%2fsecret.txt',
    '/c:/windows/win.ini',
    '/C:',
    '/C:\\',
    '/C:/',
    '/c%3a/windows/win.ini',
    '/\\\\?\\C:\\windows\\win.ini',
    '/\\\\localhost\\c$\\windows\\win.ini',
    '/%5c%5clocalhost%5cc$%5c',
    '/file:///etc/passwd',
    '/file:%2f%2f%2fetc%2fpasswd',
    '/proc/self/cwd/package.json',
    '/proc/self/environ',
    '/dev/stdin',
    'http://x/../secret.txt',
    'http://x/%2e%2e/secret.txt',
    `http://x/${absSecret}`,
    'file:///etc/passwd',
    '*',
    '*../secret.txt',
    '*/../secret.txt',
    '*%2e%2e/secret.txt',
    '*/legit.txt',
    '**legit.txt',
    '*../../etc/passwd',
    '.',
    '..',
    '../secret.txt',
    'etc/passwd',
    'secret.txt',
    '\\..\\secret.txt',
    '%2f..%2fsecret.txt',
    '/_outpost/../secret.txt',
    '/_outpost/%2e%2e/secret.txt',
    '/_outpost/..%2fsecret.txt',
    '/_outpost/..%2f..%2fsecret.txt',
    '/_outpost/api/v1/../../../secret.txt',
    '/_outpost/healthz/../../secret.txt',
    '/_outpost/healthz%2f..%2f..%2fsecret.txt',
    `/_outpost/../../replica-${REPLICA}/replica.sqlite`,
    '/_outpost/api/v1/chunks/../../../../secret.txt',
    '/_outpost/api/v1/versions/..%2f..%2f..%2fsecret.txt',
    '/_OUTPOST/../secret.txt',
    '/%5foutpost/../secret.txt',
    '/_outpost',
    '/_outpost/',
    '/link-secret',
    '/link-dir/secret.txt',
    `/link-dir/replica-${REPLICA}/replica.sqlite`,
    '/link-etc/passwd',
    '/docs/link-up/secret.txt',
  ])
    gen.add(v);

  // 7. Very long targets: over the 4096-byte path limit, over the 255-byte segment limit, and one
  //    over the 16 KiB head limit (431).
  for (const v of [
    `/${'a/'.repeat(2100)}x`,
    `/${'../'.repeat(1500)}secret.txt`,
    `/${'..%2f'.repeat(1000)}secret.txt`,
    `/${'%2e%2e/'.repeat(700)}secret.txt`,
    `/${'./'.repeat(2100)}secret.txt`,
    `/docs/${'x/'.repeat(2040)}../../secret.txt`,
    `/${'a'.repeat(256)}`,
    `/${'a'.repeat(5000)}/../secret.txt`,
    `/${'%61'.repeat(1400)}`,
    `/${'..\\'.repeat(1500)}secret.txt`,
    `/${'a/'.repeat(1000)}${'../'.repeat(1001)}secret.txt`,
    `/legit.txt?${'../'.repeat(2000)}`,
    `/${'..%2f'.repeat(3500)}secret.txt`,
    `/${'x/'.repeat(8300)}`,
  ])
    gen.add(v);

  return { wordlist, generated: [...gen] };
}

/** What a vector legitimately names: the bytes a 200 must carry, or null when it names nothing. */
function legitimate(target: string): string | null {
  // A raw `#` ends the target (a fragment is the client's), and a run of raw slashes is one,
  // as nginx's merge_slashes reads it: `/a.txt#x`, `//etc/passwd` name files of the tree.
  const cut = target.split('#', 1)[0]!;
  const q = cut.indexOf('?');
  const raw = (q === -1 ? cut : cut.slice(0, q)).replace(/\/{2,}/g, '/');
  if (!raw.startsWith('/') || /%(?:2f|5c)/i.test(raw)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw).slice(1);
  } catch {
    return null;
  }
  const isDir = decoded === '' || decoded.endsWith('/');
  const rel = isDir ? decoded.slice(0, -1) : decoded;
  if (rel !== '' && rel.split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
  const path = isDir ? (rel === '' ? 'index.html' : `${rel}/index.html`) : rel;
  return FILES[path] ?? null;
}

interface Outcome {
  target: string;
  status: number | 'no-response' | 'error';
  res?: RawResponse;
  error?: string;
}

/** Sends every target on a pool of keep-alive connections, one request in flight per connection. */
async function sendAll(url: string, targets: string[]): Promise<Outcome[]> {
  const out: Outcome[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    let conn: RawConnection | null = null;
    try {
      while (next < targets.length) {
        const i = next++;
        const target = targets[i]!;
        let res: RawResponse | null = null;
        try {
          // A closed keep-alive connection before the response began: retry once on a fresh one.
          for (let attempt = 0; attempt < 2 && res === null; attempt++) {
            if (!conn || conn.closed) {
              conn?.destroy();
              conn = await RawConnection.open(url);
            }
            conn.get(target);
            res = await conn.readResponse({ timeoutMs: 5000 });
            if (res === null) conn = null;
          }
          out[i] = res ? { target, status: res.status, res } : { target, status: 'no-response' };
          if (res && /close/i.test(res.headers.connection ?? '')) {
            conn?.destroy();
            conn = null;
          }
        } catch (err) {
          out[i] = { target, status: 'error', error: (err as Error).message };
          conn?.destroy();
          conn = null;
        }
      }
    } finally {
      (conn as RawConnection | null)?.destroy();
    }
  };
  await Promise.all(Array.from({ length: POOL }, worker));
  return out;
}

const isProblem = (r: RawResponse) =>
  (r.headers['content-type'] ?? '').startsWith('application/problem+json');

/** Why an outcome is not acceptable, or null when it is. */
function verdict(o: Outcome): string | null {
  if (!o.res) return `${o.status}${o.error ? `: ${o.error}` : ''}`;
  const all = Buffer.concat([Buffer.from(o.res.head, 'latin1'), o.res.body]).toString('latin1');
  for (const f of FORBIDDEN) if (all.includes(f)) return `response contains ${JSON.stringify(f)}`;
  const s = o.res.status;
  if (s === 400 || s === 404) return null;
  if (s === 301) {
    // The admin prefix typed without its slash leads to the dashboard, beside the tree.
    if (o.target === '/_outpost' && o.res.headers.location === '_outpost/') return null;
    // The query rides along (`/docs?x` → `/docs/?x`), never looked up: the path is what counts.
    const full = o.res.headers.location ?? '';
    const q = full.indexOf('?');
    const loc = q === -1 ? full : full.slice(0, q);
    if (q !== -1 && !o.target.split('#', 1)[0]!.endsWith(full.slice(q)))
      return `301 to ${full}: a query the request did not have`;
    let d: string;
    try {
      d = decodeURIComponent(loc);
    } catch {
      return `301 to undecodable ${loc}`;
    }
    const dir = d.slice(1, -1);
    return loc.startsWith('/') && !loc.startsWith('//') && d.endsWith('/') && DIRS.has(dir)
      ? null
      : `301 to ${loc}, not a directory of the tree`;
  }
  if (s === 200) {
    // The replica's own status page lives at /_outpost/ (only there: every other vector above
    // under /_outpost/ must still be refused).
    if (
      o.target === '/_outpost/' &&
      o.res.body.toString('latin1').includes('<strong>Outpost</strong> replica ')
    )
      return null;
    const want = legitimate(o.target);
    if (want === null) return '200 for a target that names no file of the tree';
    return o.res.body.toString('latin1') === Buffer.from(want).toString('latin1')
      ? null
      : '200 with the wrong bytes';
  }
  // A head over maxHeaderBytes (16 KiB) is refused by node:http before it reaches the handler.
  if (s === 431 && `GET ${o.target} HTTP/1.1\r\nHost: x\r\n\r\n`.length > 16 * 1024) return null;
  return `unexpected status ${s}`;
}

describe('path traversal corpus against a replica', () => {
  let fleet: Fleet;
  let url: string;

  beforeAll(async () => {
    fleet = await Fleet.start({ files: FILES, replicas: [{ name: REPLICA, region: 'uk' }] });
    url = fleet.replica(REPLICA).url;
    // The secret, in three places a traversal would reach for: next to the content dir, in the
    // replica's data dir (beside replica.sqlite), and in /tmp.
    writeFileSync(join(fleet.dir.path, 'secret.txt'), `${TOKEN}\n`);
    writeFileSync(join(fleet.dir.path, `replica-${REPLICA}`, 'secret.txt'), `${TOKEN}\n`);
    writeFileSync(TMP_SECRET, `${TOKEN}\n`);
    // Symlinks in the content dir pointing out of it: the master must not follow them.
    symlinkSync(join(fleet.dir.path, 'secret.txt'), join(fleet.content, 'link-secret'));
    symlinkSync(fleet.dir.path, join(fleet.content, 'link-dir'));
    symlinkSync('/etc', join(fleet.content, 'link-etc'));
    symlinkSync('../..', join(fleet.content, 'docs/link-up'));
    // A change after the symlinks, so a version is cut with them on disk.
    fleet.write('docs/after-links.txt', 'cut after the symlinks were made\n');
    FILES['docs/after-links.txt'] = 'cut after the symlinks were made\n';
    // expectConverged compares the published version with the files on disk and the links that
    // lead to one of them, so it also checks that none of these links (all leading out) was published.
    await fleet.expectConverged();
  });

  afterAll(async () => {
    await fleet?.stop();
    rmSync(TMP_SECRET, { force: true });
  });

  it('the harness sees legitimate files: 200 with the right bytes over raw sockets', async () => {
    const probes = ['/legit.txt', '/docs/guide.md', '/docs/', '/etc/passwd', '/..data.txt', '/%6cegit%2etxt'];
    const got = await sendAll(url, probes);
    for (const o of got) {
      expect(o.status, o.target).toBe(200);
      expect(o.res!.body.toString(), o.target).toBe(legitimate(o.target));
      expect(verdict(o), o.target).toBeNull();
    }
    const dir = (await sendAll(url, ['/docs']))[0]!;
    expect(dir.status).toBe(301);
    expect(dir.res!.headers.location).toBe('/docs/');
    // The detector would catch a leak: a response carrying the token is refused.
    expect(
      verdict({
        target: '/x',
        status: 404,
        res: { status: 404, head: '', headers: {}, body: Buffer.from(TOKEN) },
      }),
    ).toMatch(/contains/);
  });

  // node's parser takes `*` followed by anything as a request target; the hot path must not
  // look `*legit.txt` up as `legit.txt`.
  it('an asterisk-form target is refused', async () => {
    const got = await sendAll(url, ['*legit.txt', '*etc/passwd', '*docs/guide.md']);
    expect(got.map((o) => o.status)).toEqual([400, 400, 400]);
  });

  it('refuses every vector: no secret, no 5xx, only 400/404 (or a legitimate 200/301)', async () => {
    const { wordlist, generated } = buildCorpus(fleet.dir.path);
    const targets = [...new Set([...wordlist, ...generated])];
    expect(targets.length).toBeGreaterThanOrEqual(5000);
    for (const t of targets) expect(t, 'vectors never carry the secret').not.toContain(TOKEN);

    const started = Date.now();
    const outcomes = await sendAll(url, targets);
    const ms = Date.now() - started;

    const counts: Record<string, number> = {};
    for (const o of outcomes) {
      // `*`: refused before the content handler (a request line node's parser rejects, a head
      // over 16 KiB, a URL fastify cannot decode), answered by fastify's default handlers with
      // `application/json`, not a problem body. Counted apart to see how much reached the code.
      const early = typeof o.status === 'number' && o.status >= 400 && !isProblem(o.res!);
      const key = `${o.status}${early ? '*' : ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    if (process.env.TRAVERSAL_DEBUG)
      for (const o of outcomes)
        if (o.status !== 400 && o.status !== 404)
          console.log(o.status, JSON.stringify(o.target).slice(0, 120));
    const bad = outcomes.map((o) => ({ target: o.target, why: verdict(o) })).filter((b) => b.why !== null);
    const leaks = bad.filter((b) => b.why!.startsWith('response contains'));
    const fiveXX = outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500);
    console.log(
      `traversal corpus: ${targets.length} vectors (${new Set(wordlist).size} from wfuzz lists, ${generated.length} generated) ` +
        `in ${ms} ms over ${POOL} keep-alive sockets; status counts ${JSON.stringify(counts)}; ` +
        `leaks ${leaks.length}, 5xx ${fiveXX.length}, unacceptable ${bad.length}`,
    );
    const show = (xs: { target: string; why: string | null }[]) =>
      xs.slice(0, 20).map((b) => `${JSON.stringify(b.target.slice(0, 200))}: ${b.why}`);
    expect(show(leaks), 'responses carrying the secret').toEqual([]);
    expect(
      fiveXX.map((o) => o.target.slice(0, 200)),
      '5xx responses',
    ).toEqual([]);
    expect(show(bad), 'unacceptable responses').toEqual([]);

    // Nothing went wrong inside: no error logged, and the process is still up and serving.
    const errors = fleet.replica(REPLICA).logs.filter((l) => Number(l.level) >= 50);
    expect(errors.map((l) => l.msg)).toEqual([]);
    expect((await get(`${url}/_outpost/healthz`)).status).toBe(200);
    const legit = await get(`${url}/legit.txt`);
    expect(legit.status).toBe(200);
    expect(legit.body.toString()).toBe(FILES['legit.txt']);
  });
});
