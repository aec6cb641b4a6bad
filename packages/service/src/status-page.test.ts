import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerStatusPage } from './status-page.js';

const TOKEN = 'status-page-token';
let app: ReturnType<typeof Fastify> | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function signIn(headers: Record<string, string> = {}) {
  app = Fastify();
  registerStatusPage(app, {
    adminToken: TOKEN,
    heading: 'master',
    render: () => '<main><h1>Version 1</h1></main>',
    footer: '',
    cookie: 'outpost_master',
  });
  return app.inject({
    method: 'POST',
    url: '/_outpost/dashboard/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({ token: TOKEN }).toString(),
  });
}

describe('the status page sign-in', () => {
  it('gives a cookie for the path the browser sees behind a proxy that says its prefix', async () => {
    const res = await signIn({ 'x-forwarded-prefix': '/outpost/', 'x-forwarded-proto': 'https' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('../dashboard');
    expect(res.headers['set-cookie']).toMatch(
      /^outpost_master=[\w-]+; Path=\/outpost\/_outpost\/; HttpOnly; SameSite=Strict; Max-Age=86400; Secure$/,
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
    app = Fastify();
    registerStatusPage(app, {
      adminToken: TOKEN,
      heading: 'master',
      render: () => '<main><h1>Version 1</h1></main>',
      footer: '',
      cookie: 'outpost_master',
    });
    const at = 'http://h/_outpost/dashboard/login';
    const post = (url: string, token: string) =>
      app!.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      });
    const wrong = await post(new URL(at).pathname, 'not it');
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
    const again = await post(new URL(action, at).pathname, TOKEN);
    expect(again.statusCode).toBe(303);
    expect(new URL(String(again.headers.location), new URL(action, at)).pathname).toBe('/_outpost/dashboard');
  });

  it('keeps the sign-in page’s URLs as they were where it is first shown', async () => {
    app = Fastify();
    registerStatusPage(app, {
      adminToken: TOKEN,
      heading: 'master',
      render: () => '',
      footer: '',
      cookie: 'outpost_master',
    });
    for (const url of ['/_outpost/', '/_outpost/dashboard']) {
      const body = (await app.inject({ method: 'GET', url })).body;
      expect(body, url).toContain('<link rel="stylesheet" href="dashboard.css">');
      expect(body, url).toContain('<form method="post" action="dashboard/login">');
    }
  });
});
