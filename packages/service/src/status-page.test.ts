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
