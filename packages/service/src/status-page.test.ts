import Fastify from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardPass, passHolds, registerStatusPage, type StatusPageOptions } from './status-page.js';

const TOKEN = 'status-page-token';
let app: ReturnType<typeof Fastify> | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A status page (the test's `app`) with `o` over its defaults; what it logs at warn goes to `lines`. */
function pageApp(o: Partial<StatusPageOptions> = {}, lines?: string[]) {
  app = Fastify(
    lines ? { loggerInstance: pino({ level: 'warn' }, { write: (l: string) => lines.push(l) }) } : {},
  );
  registerStatusPage(app, {
    adminToken: TOKEN,
    heading: 'master',
    render: () => '<main><h1>Version 1</h1></main>',
    footer: '',
    cookie: 'outpost_master',
    ...o,
  });
  return app;
}

/** The sign-in form posted with `token` to `url`. */
function post(token: string, headers: Record<string, string> = {}, url = '/_outpost/dashboard/login') {
  return app!.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({ token }).toString(),
  });
}

async function signIn(headers: Record<string, string> = {}) {
  pageApp();
  return post(TOKEN, headers);
}

describe('the status page sign-in', () => {
  it('gives a cookie for the path the browser sees behind a proxy that says its prefix', async () => {
    const res = await signIn({ 'x-forwarded-prefix': '/outpost/', 'x-forwarded-proto': 'https' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('../dashboard');
    expect(res.headers['set-cookie']).toMatch(
      /^outpost_master=[\w.-]+; Path=\/outpost\/_outpost\/; HttpOnly; SameSite=Strict; Max-Age=86400; Secure$/,
    );
  });

  it('takes nothing but a plain path from the header: no attribute slips into the cookie', async () => {
    for (const prefix of ['/x; Domain=evil.example', '/x\\y', 'outpost', '/a b', '//evil', '/x/../y']) {
      const res = await signIn({ 'x-forwarded-prefix': prefix });
      const cookie = String(res.headers['set-cookie']);
      expect(cookie, prefix).toMatch(/; Path=\/_outpost\/; HttpOnly; SameSite=Strict; Max-Age=86400$/);
      expect(cookie, prefix).not.toContain('Domain');
      await app?.close();
      app = undefined;
    }
  });
});

describe('the status page after a failed sign-in', () => {
  it('answers at the form’s URL with a page whose style and form resolve from there', async () => {
    const app = pageApp();
    const at = 'http://h/_outpost/dashboard/login';
    const wrong = await post('not it', {}, new URL(at).pathname);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('That token is not the admin token.');
    // Every URL of that page, resolved where the browser got it, reaches the service.
    const refs = [...wrong.body.matchAll(/(?:href|src)="([^":]+)"/g)].map((m) => m[1]!);
    expect(refs).toContain('../dashboard.css');
    for (const ref of refs) {
      const res = await app.inject({ method: 'GET', url: new URL(ref, at).pathname });
      expect(res.statusCode, ref).toBe(200);
    }
    const action = /<form method="post" action="([^"]+)">/.exec(wrong.body)![1]!;
    const again = await post(TOKEN, {}, new URL(action, at).pathname);
    expect(again.statusCode).toBe(303);
    expect(new URL(String(again.headers.location), new URL(action, at)).pathname).toBe('/_outpost/dashboard');
  });

  it('keeps the sign-in page’s URLs as they were where it is first shown', async () => {
    const app = pageApp({ render: () => '' });
    for (const url of ['/_outpost/', '/_outpost/dashboard']) {
      const body = (await app.inject({ method: 'GET', url })).body;
      expect(body, url).toContain('<link rel="stylesheet" href="dashboard.css">');
      expect(body, url).toContain('<form method="post" action="dashboard/login">');
    }
  });
});

describe('the dashboard pass', () => {
  const T = Date.UTC(2026, 10, 29, 12);
  it('holds for the service it was made for, a day from its issue, with the token it was made with', () => {
    const pass = dashboardPass(TOKEN, 'outpost_replica_uk-london', T);
    expect(passHolds(pass, TOKEN, 'outpost_replica_uk-london', T + 3_600_000)).toBe(true);
    expect(passHolds(pass, TOKEN, 'outpost_replica_uk-london', T + 86_400_000)).toBe(true);
    // Not on another service that shares the token: one seen on a plain-HTTP replica.
    expect(passHolds(pass, TOKEN, 'outpost_master', T)).toBe(false);
    // Not past its day, whatever the browser keeps; not from a token rotated away.
    expect(passHolds(pass, TOKEN, 'outpost_replica_uk-london', T + 86_401_000)).toBe(false);
    expect(passHolds(pass, 'another-admin-token', 'outpost_replica_uk-london', T)).toBe(false);
    // Its issue time is covered by the MAC: moved forward, it fails.
    const [, mac] = pass.split('.');
    const later = `${Math.floor((T + 80_000_000) / 1000).toString(36)}.${mac}`;
    expect(passHolds(later, TOKEN, 'outpost_replica_uk-london', T + 90_000_000)).toBe(false);
    for (const junk of ['', '.', 'x', `${pass}x`, `zzzzzzzzzzzzz.${mac}`])
      expect(passHolds(junk, TOKEN, 'outpost_replica_uk-london', T), junk).toBe(false);
  });

  it('differs at each sign-in, and the page takes it until the day is out', async () => {
    let now = T;
    pageApp({ render: () => '<main>ok</main>', now: () => now });
    const signIn = async () => String((await post(TOKEN)).headers['set-cookie']).split(';')[0]!;
    const first = await signIn();
    now += 5_000;
    const second = await signIn();
    expect(second).not.toBe(first);
    const page = () => app!.inject({ method: 'GET', url: '/_outpost/dashboard', headers: { cookie: first } });
    expect((await page()).statusCode).toBe(200);
    now = T + 86_401_000;
    expect((await page()).statusCode).toBe(401);
  });
});

describe('a short admin token', () => {
  it('is warned of once, at start', async () => {
    const lines: string[] = [];
    pageApp({ adminToken: 'short' }, lines);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
      'the admin token is shorter than 16 characters: easy to guess, and a dashboard cookie seen on the wire lets one guess it offline',
    ]);
    await app!.close();
    lines.length = 0;
    pageApp({}, lines);
    expect(lines).toEqual([]);
  });
});

describe('wrong admin tokens at the sign-in', () => {
  it('are logged once, then counted, per client', async () => {
    const lines: string[] = [];
    pageApp({}, lines);
    for (let i = 0; i < 5; i++) expect((await post(`guess-${i}`)).statusCode).toBe(401);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['dashboard: wrong admin token']);
  });
});
