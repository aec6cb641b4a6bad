import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/wait-for.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** curl, as a user would run it; returns the raw head and body. */
async function curl(args: string[]): Promise<{ head: string; status: number; headers: Map<string, string> }> {
  const { stdout } = await run('curl', ['-s', '-D', '-', '-o', '/dev/null', ...args]);
  const lines = stdout.trim().split(/\r?\n/);
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { head: stdout, status, headers };
}

const TEXT = `${'Outpost keeps verified copies of a content tree in every office.\n'.repeat(200)}`;
const BIG = Buffer.alloc(6 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 4) BIG.writeUInt32LE((i * 2654435761) >>> 0, i);

describe('the replica content server', () => {
  let fleet: Fleet;
  let base: string;
  let listing: string;

  beforeAll(async () => {
    fleet = await Fleet.start({
      files: {
        'docs/index.html': '<h1>Docs</h1>\n',
        'docs/guide.txt': TEXT,
        'static/app.js': `console.log(${JSON.stringify(TEXT.slice(0, 2000))});\n`,
        'files/a.txt': 'a\n',
        'files/sub/b.txt': 'b\n',
        'data.bin': BIG,
        'héllo wörld.txt': 'unicode\n',
        'empty.txt': '',
      },
      replicas: [
        {
          name: 'uk-london',
          region: 'uk',
          args: ['--cache-control', '/static/=public, max-age=31536000, immutable'],
        },
        { name: 'asia-tokyo', region: 'asia', args: ['--dir-listing', '--no-compress'] },
      ],
    });
    await fleet.expectConverged();
    base = fleet.replica('uk-london').url;
    listing = fleet.replica('asia-tokyo').url;
  });
  afterAll(() => fleet?.stop());

  it('answers curl -I with the contract headers', async () => {
    const r = await curl(['-I', `${base}/docs/guide.txt`]);
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe(`"${sha(Buffer.from(TEXT))}"`);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('content-length')).toBe(String(TEXT.length));
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-outpost-replica')).toBe('uk-london');
    expect(Number(r.headers.get('x-outpost-version'))).toBeGreaterThan(0);
    expect(Date.parse(r.headers.get('last-modified')!)).not.toBeNaN();
    expect(r.headers.get('vary')).toBe('Accept-Encoding');
  });

  it('honours If-None-Match (lists, *, weak) and If-Modified-Since with 304', async () => {
    const url = `${base}/docs/guide.txt`;
    const etag = `"${sha(Buffer.from(TEXT))}"`;
    const lm = (await curl(['-I', url])).headers.get('last-modified')!;
    for (const inm of [etag, `"nope", ${etag}`, '*', `W/${etag}`]) {
      expect((await curl(['-H', `If-None-Match: ${inm}`, url])).status, inm).toBe(304);
    }
    expect((await curl(['-H', 'If-None-Match: "other"', url])).status).toBe(200);
    expect((await curl(['-H', `If-Modified-Since: ${lm}`, url])).status).toBe(304);
    expect((await curl(['-H', 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT', url])).status).toBe(200);
    // If-None-Match wins over If-Modified-Since.
    expect((await curl(['-H', 'If-None-Match: "other"', '-H', `If-Modified-Since: ${lm}`, url])).status).toBe(
      200,
    );
  });

  it('answers failed If-Match and If-Unmodified-Since with 412', async () => {
    const url = `${base}/docs/guide.txt`;
    const etag = `"${sha(Buffer.from(TEXT))}"`;
    expect((await curl(['-H', 'If-Match: "other"', url])).status).toBe(412);
    expect((await curl(['-H', `If-Match: W/${etag}`, url])).status).toBe(412);
    expect((await curl(['-H', `If-Match: ${etag}`, url])).status).toBe(200);
    expect((await curl(['-H', 'If-Match: *', url])).status).toBe(200);
    expect((await curl(['-H', 'If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT', url])).status).toBe(412);
    expect((await curl(['-H', 'If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT', url])).status).toBe(200);
  });

  it('serves single, open, suffix and multiple ranges, honours If-Range, refuses floods', async () => {
    const url = `${base}/data.bin`;
    const one = await get(url, { range: 'bytes=1000000-1999999' });
    expect(one.status).toBe(206);
    expect(one.headers['content-range']).toBe(`bytes 1000000-1999999/${BIG.length}`);
    expect(one.body.equals(BIG.subarray(1000000, 2000000))).toBe(true);
    const open = await get(url, { range: `bytes=${BIG.length - 10}-` });
    expect(open.body.equals(BIG.subarray(-10))).toBe(true);

    const multi = await get(url, { range: 'bytes=0-9,100-109,-5' });
    expect(multi.status).toBe(206);
    const boundary = /boundary=(\S+)/.exec(String(multi.headers['content-type']))![1]!;
    expect(String(multi.headers['content-type'])).toMatch(/^multipart\/byteranges; boundary=/);
    const text = multi.body.toString('latin1');
    const parts = text.split(`--${boundary}`).slice(1, -1);
    expect(parts).toHaveLength(3);
    const expected = [BIG.subarray(0, 10), BIG.subarray(100, 110), BIG.subarray(-5)];
    const ranges = ['0-9', '100-109', `${BIG.length - 5}-${BIG.length - 1}`];
    parts.forEach((part, i) => {
      expect(part).toContain(`Content-Range: bytes ${ranges[i]}/${BIG.length}`);
      const body = Buffer.from(part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, ''), 'latin1');
      expect(body.equals(expected[i]!)).toBe(true);
    });
    expect(Number(multi.headers['content-length'])).toBe(multi.body.length);

    const etag = `"${sha(BIG)}"`;
    expect((await get(url, { range: 'bytes=0-9', 'if-range': etag })).status).toBe(206);
    const stale = await get(url, { range: 'bytes=0-9', 'if-range': '"stale"' });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(BIG.length);

    const flood = `bytes=${Array.from({ length: 200 }, (_, i) => `${i * 3}-${i * 3}`).join(',')}`;
    const refused = await get(url, { range: flood });
    expect(refused.status).toBe(416);
    expect(refused.headers['content-range']).toBe(`bytes */${BIG.length}`);
    expect((await curl(['-r', `${BIG.length + 5}-`, url])).status).toBe(416);
  });

  it('compresses text with br or gzip once per file version, with Vary and its own ETag; never ranges', async () => {
    const url = `${base}/docs/guide.txt`;
    const identity = `"${sha(Buffer.from(TEXT))}"`;
    // The first request asks for the copy to be made; it is there moments later.
    const br = await waitFor(async () => {
      const r = await get(url, { 'accept-encoding': 'gzip, br' });
      return r.headers['content-encoding'] === 'br' ? r : null;
    });
    expect(brotliDecompressSync(br.body).toString()).toBe(TEXT);
    expect(br.body.length).toBeLessThan(TEXT.length / 5);
    expect(br.headers.etag).toBe(`"${sha(Buffer.from(TEXT))}-br"`);
    expect(br.headers.vary).toBe('Accept-Encoding');
    // Ranges are of the file's own bytes: a coded copy does not offer them (nginx neither).
    expect(br.headers['accept-ranges']).toBeUndefined();
    expect(
      (await get(url, { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })).status,
    ).toBe(304);

    const gz = await waitFor(async () => {
      const r = await get(url, { 'accept-encoding': 'gzip' });
      return r.headers['content-encoding'] === 'gzip' ? r : null;
    });
    expect(gunzipSync(gz.body).toString()).toBe(TEXT);
    expect(gz.headers.etag).toBe(`"${sha(Buffer.from(TEXT))}-gz"`);

    const plain = await get(url, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.etag).toBe(identity);
    expect(plain.headers['accept-ranges']).toBe('bytes');
    const ranged = await get(url, { 'accept-encoding': 'br', range: 'bytes=0-99' });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-encoding']).toBeUndefined();
    expect(ranged.body.toString()).toBe(TEXT.slice(0, 100));
    // Not compressible: binary data is never coded.
    const bin = await get(`${base}/data.bin`, { 'accept-encoding': 'br', range: 'bytes=0-0' });
    expect(bin.headers.vary).toBeUndefined();
    // curl --compressed decodes it back to the same bytes.
    const { stdout } = await run('curl', ['-s', '--compressed', url], { maxBuffer: 1 << 24 });
    expect(stdout).toBe(TEXT);
  });

  it('answers a range of an empty file with the empty file, as nginx does', async () => {
    for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=-1']) {
      const r = await get(`${base}/empty.txt`, { range });
      expect(r.status, range).toBe(200);
      expect(r.headers['content-length'], range).toBe('0');
      expect(r.headers['content-range'], range).toBeUndefined();
    }
    const { stdout } = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-r',
      '0-',
      `${base}/empty.txt`,
    ]);
    expect(stdout).toBe('200');
  });

  it('redirects a directory to its slash form, serves its index.html, 404s without one', async () => {
    const r = await curl([`${base}/docs`]);
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/docs/');
    const index = await get(`${base}/docs/`);
    expect(index.status).toBe(200);
    expect(index.body.toString()).toBe('<h1>Docs</h1>\n');
    expect((await get(`${base}/files/`)).status).toBe(404);
    expect((await get(`${base}/files`)).status).toBe(301);
  });

  it('lists a directory only where the admin turned listings on', async () => {
    const page = await get(`${listing}/files/`);
    expect(page.status).toBe(200);
    expect(String(page.headers['content-type'])).toBe('text/html; charset=utf-8');
    const html = page.body.toString();
    expect(html).toContain('<a href="sub/">sub/</a>');
    expect(html).toContain('<a href="a.txt">a.txt</a>');
    const root = (await get(`${listing}/`)).body.toString();
    expect(root).toContain('h%C3%A9llo%20w%C3%B6rld.txt');
    expect((await get(`${listing}/nothing-here/`)).status).toBe(404);
    // --no-compress: text is served as is, without Vary.
    const txt = await get(`${listing}/docs/guide.txt`, { 'accept-encoding': 'br' });
    expect(txt.headers['content-encoding']).toBeUndefined();
    expect(txt.headers.vary).toBeUndefined();
  });

  it('sets Cache-Control per path prefix', async () => {
    expect((await curl(['-I', `${base}/static/app.js`])).headers.get('cache-control')).toBe(
      'public, max-age=31536000, immutable',
    );
    expect((await curl(['-I', `${base}/docs/guide.txt`])).headers.get('cache-control')).toBe('no-cache');
    expect((await curl(['-I', `${listing}/static/app.js`])).headers.get('cache-control')).toBe('no-cache');
  });

  it('answers errors with a JSON problem, or a small HTML page for a browser', async () => {
    const json = await get(`${base}/missing.txt`);
    expect(json.status).toBe(404);
    expect(json.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(json.body.toString())).toMatchObject({ status: 404, title: 'Not Found' });
    expect(json.headers['x-outpost-version']).toBeDefined();
    const html = await get(`${base}/missing.txt`, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body.toString()).toContain('<h1>404 Not Found</h1>');
    const method = await get(`${base}/docs/guide.txt`, {}, 'POST');
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe('GET, HEAD');
    expect((await get(`${base}/h%C3%A9llo%20w%C3%B6rld.txt`)).body.toString()).toBe('unicode\n');
  });

  it('finishes a download from the version that started it, even when a new version lands mid-way', async () => {
    const url = `${base}/data.bin`;
    const before = (await fleet.replicaStatus('uk-london')).version;
    const res = await request(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-outpost-version']).toBe(String(before));
    // Read a little, then stop reading while the master publishes a new data.bin.
    const parts: Buffer[] = [];
    const it = res.body[Symbol.asyncIterator]();
    const first = await it.next();
    parts.push(first.value as Buffer);
    const changed = Buffer.from(BIG);
    // The change is at the far end: a server that switched versions mid-body would send it.
    changed.fill(0x42, changed.length - 1024);
    fleet.write('data.bin', changed);
    await waitFor(async () => (await fleet.replicaStatus('uk-london')).version > before, {
      what: 'a new version',
    });
    expect((await get(url, { range: 'bytes=-1' })).body[0]).toBe(0x42);
    for (let r = await it.next(); !r.done; r = await it.next()) parts.push(r.value as Buffer);
    const body = Buffer.concat(parts);
    expect(body.length).toBe(BIG.length);
    expect(sha(body)).toBe(sha(BIG));
  });
});
