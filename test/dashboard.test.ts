import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { startPrefixProxy } from './helpers/prefix-proxy.js';
import { waitFor } from './helpers/wait-for.js';

const ADMIN = 'dashboard-admin-token-0123456789';

/** POSTs the sign-in form, as a browser does. */
function signIn(url: string, token: string) {
  return request(`${url}/_outpost/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
}

describe('the master dashboard', () => {
  let fleet: Fleet;
  let url: string;
  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'index.html': 'home\n', 'back\\<b>slash</b>.txt': 'refused, and its name is markup\n' },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
      env: { OUTPOST_ADMIN_TOKEN: ADMIN },
    });
    url = fleet.master.url;
    // (expectConverged would ask without the token, and count the refused file.)
    await waitFor(
      async () => {
        const s = JSON.parse(
          (await get(`${url}/_outpost/api/v1/status`, { authorization: `Bearer ${ADMIN}` })).body.toString(),
        );
        return (
          s.version === 1 && s.replicas.length === 2 && s.replicas.every((r: any) => r.state === 'in-sync')
        );
      },
      { what: 'both replicas in sync' },
    );
  });
  afterAll(() => fleet?.stop());

  it('asks for the admin token, in a page of its own code only', async () => {
    const res = await get(`${url}/_outpost/dashboard`);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.body.toString()).toContain('<form method="post" action="dashboard/login">');
    const wrong = await signIn(url, 'not it');
    expect(wrong.statusCode).toBe(401);
    expect(await wrong.body.text()).toContain('That token is not the admin token.');
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('signs in with the token for a cookie that shows the dashboard and opens nothing else', async () => {
    const ok = await signIn(url, ADMIN);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('../dashboard');
    const cookie = String(ok.headers['set-cookie']);
    expect(cookie).toMatch(
      /^outpost_master=[\w.-]+; Path=\/_outpost\/; HttpOnly; SameSite=Strict; Max-Age=86400$/,
    );
    expect(cookie).not.toContain(ADMIN);
    const pass = cookie.split(';')[0]!;

    const page = await get(`${url}/_outpost/dashboard`, { cookie: pass });
    expect(page.status).toBe(200);
    const html = page.body.toString();
    expect(html).toContain('<script src="dashboard.js" defer></script>');
    expect(html).toMatch(/<tr class="state-in-sync">\s*<td>asia-tokyo<\/td>/);
    expect(html).toMatch(/<tr class="state-in-sync">\s*<td>uk-london<\/td>/);
    expect(html).toContain('2 in-sync');
    // The refused file's name is shown, and as text.
    expect(html).toContain('&#34;back\\\\&#60;b&#62;slash&#60;/b&#62;.txt&#34;</code>: backslash');
    expect(html).not.toContain('<b>slash');

    // The cookie is for the dashboard only: the API still wants the token itself.
    expect((await get(`${url}/_outpost/api/v1/status`, { cookie: pass })).status).toBe(401);
    // The bearer token also shows it, as to any API client.
    expect((await get(`${url}/_outpost/dashboard`, { authorization: `Bearer ${ADMIN}` })).status).toBe(200);
  });

  it('serves its script and style, and a fragment that follows the fleet as it changes', async () => {
    const js = await get(`${url}/_outpost/dashboard.js`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body.toString()).toContain("fetch('dashboard?fragment=1'");
    expect((await get(`${url}/_outpost/dashboard.css`)).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    const root = await get(`${url}/_outpost/`, { authorization: `Bearer ${ADMIN}` });
    expect(root.status).toBe(200);
    expect(root.body.toString()).toContain('<h1>Version 1</h1>');

    const auth = { authorization: `Bearer ${ADMIN}` };
    await fleet.replica('asia-tokyo').stop();
    const fragment = await waitFor(
      async () => {
        const body = (await get(`${url}/_outpost/dashboard?fragment=1`, auth)).body.toString();
        return /<tr class="state-offline">\s*<td>asia-tokyo<\/td>/.test(body) ? body : null;
      },
      { what: 'asia-tokyo offline on the dashboard' },
    );
    expect(fragment.startsWith('<main')).toBe(true);
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('1 offline, 1 in-sync');
    fleet.write('index.html', 'home, edited\n');
    await waitFor(
      async () =>
        (await get(`${url}/_outpost/dashboard?fragment=1`, auth)).body
          .toString()
          .includes('<h1>Version 2</h1>'),
      { what: 'the new version on the dashboard' },
    );
  });

  it('works behind a proxy that serves the master under a path of its own', async () => {
    // As the nginx site in docs/deploy/ does: /outpost/… to the master's /…, with the prefix said.
    const proxy = await startPrefixProxy(url, '/outpost');
    try {
      const base = `${proxy.url}/outpost/_outpost/`;
      const login = await get(base);
      expect(login.status).toBe(401);
      // Every URL of the page, resolved against where the browser sees it, reaches the master.
      const action = /action="([^"]+)"/.exec(login.body.toString())![1]!;
      const signed = await request(new URL(action, base), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: ADMIN }).toString(),
      });
      await signed.body.dump();
      expect(signed.statusCode).toBe(303);
      const cookie = String(signed.headers['set-cookie']);
      expect(cookie).toContain('; Path=/outpost/_outpost/;');
      const landing = new URL(String(signed.headers.location), new URL(action, base)).href;
      expect(landing).toBe(`${proxy.url}/outpost/_outpost/dashboard`);
      const page = await get(landing, { cookie: cookie.split(';')[0]! });
      expect(page.status).toBe(200);
      const html = page.body.toString();
      for (const [, ref] of html.matchAll(/(?:href|src)="([^":]+)"/g)) {
        const res = await get(new URL(ref!, landing).href);
        expect(res.status, ref).toBe(200);
      }
      const fetched = /fetch\('([^']+)'/.exec(
        (await get(new URL('dashboard.js', landing).href)).body.toString(),
      )![1]!;
      const fragment = await get(new URL(fetched, landing).href, { cookie: cookie.split(';')[0]! });
      expect(fragment.status).toBe(200);
      expect(fragment.body.toString().startsWith('<main')).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('has a page on each replica too, behind the same token', async () => {
    const replica = fleet.replica('uk-london').url;
    expect((await get(`${replica}/_outpost/`)).status).toBe(401);
    // Its own sign-in cookie: a master and a replica on one host keep theirs apart.
    const signed = await signIn(replica, ADMIN);
    expect(String(signed.headers['set-cookie'])).toMatch(/^outpost_replica_uk-london=/);
    await signed.body.dump();
    const page = await get(`${replica}/_outpost/`, {
      cookie: String(signed.headers['set-cookie']).split(';')[0]!,
    });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const html = page.body.toString();
    expect(html).toContain('<header><strong>Outpost</strong> replica uk-london (uk)');
    expect(html).toMatch(/<h1>Version \d+ <span class="state-/);
    expect(html).toContain('<dt>link</dt><dd>push</dd>');
    // Its pass, sent in the clear by a replica on plain HTTP, opens that replica alone: not the
    // master, which shares the admin token.
    const value = String(signed.headers['set-cookie']).split(';')[0]!.split('=')[1]!;
    expect((await get(`${url}/_outpost/`, { cookie: `outpost_master=${value}` })).status).toBe(401);
  });

  it("is where the addresses an admin types first lead: the master's root, and /_outpost without its slash", async () => {
    const replica = fleet.replica('uk-london').url;
    const root = await get(`${url}/`);
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('_outpost/');
    for (const base of [url, replica]) {
      const bare = await get(`${base}/_outpost`);
      expect(bare.status, base).toBe(301);
      expect(bare.headers.location).toBe('_outpost/');
      expect((await get(new URL(String(bare.headers.location), `${base}/_outpost`).href)).status).toBe(401);
    }
    // On a replica, the root is the content tree's.
    expect((await get(`${replica}/`)).body.toString()).toMatch(/^home/);
  });
});
