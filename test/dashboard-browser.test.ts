import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get } from './helpers/http.js';
import { startPrefixProxy } from './helpers/prefix-proxy.js';
import { waitFor } from './helpers/wait-for.js';

const ADMIN = 'dashboard-browser-admin-token-0123';
/** Debian's Chromium (or CHROMIUM_PATH): playwright-core drives it; no browser is downloaded. */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && existsSync(p),
);

// The dashboard as a browser sees it: what a page's relative URLs resolve to, and how wide the
// page lays out, only a browser tells.
describe.skipIf(!CHROMIUM)('the dashboard in Chromium', () => {
  let fleet: Fleet;
  let browser: Browser;
  beforeAll(async () => {
    [fleet, browser] = await Promise.all([
      Fleet.start({
        files: { 'index.html': 'home\n' },
        replicas: [{ name: 'uk-london', region: 'uk' }],
        env: { OUTPOST_ADMIN_TOKEN: ADMIN },
      }),
      chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] }),
    ]);
    await waitFor(
      async () => {
        const res = await get(`${fleet.master.url}/_outpost/api/v1/status`, {
          authorization: `Bearer ${ADMIN}`,
        });
        const s = JSON.parse(res.body.toString());
        return s.version === 1 && s.replicas.length === 1 && s.replicas[0].state === 'in-sync';
      },
      { what: 'the replica in sync' },
    );
  });
  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  /** Whether the page got its style sheet (the header is laid out as a row); run in the page. */
  const styled = `getComputedStyle(document.querySelector('header')).display === 'flex'`;

  it('signs in after a mistyped token, directly and behind a proxy that serves it under a path', async () => {
    const proxy = await startPrefixProxy(fleet.master.url, '/outpost');
    try {
      for (const start of [`${fleet.master.url}/_outpost/`, `${proxy.url}/outpost/_outpost/dashboard`]) {
        const page = await browser.newPage();
        await page.goto(start);
        expect(await page.evaluate(styled), start).toBe(true);
        await page.fill('input[name=token]', 'not the token');
        await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
        // The answer to the failed try, at …/_outpost/dashboard/login: styled, and its form works.
        expect(await page.textContent('.alert')).toBe('That token is not the admin token.');
        expect(await page.evaluate(styled), start).toBe(true);
        await page.fill('input[name=token]', ADMIN);
        await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
        expect(new URL(page.url()).pathname, start).toMatch(/\/_outpost\/dashboard$/);
        expect(await page.textContent('main h1'), start).toMatch(/^Version 1/);
        expect(await page.evaluate(styled), start).toBe(true);
        await page.close();
      }
    } finally {
      await proxy.close();
    }
  });

  it('fits a phone’s width: wide tables scroll in their own box, not the page', async () => {
    for (const url of [fleet.master.url, fleet.replica('uk-london').url]) {
      const page = await browser.newPage({
        viewport: { width: 375, height: 800 },
        extraHTTPHeaders: { authorization: `Bearer ${ADMIN}` },
      });
      await page.goto(`${url}/_outpost/`);
      expect(await page.evaluate(styled), url).toBe(true);
      expect(await page.textContent('main h1'), url).toMatch(/^Version 1/);
      const widths: { scroll: number; inner: number } = await page.evaluate(
        '({ scroll: document.documentElement.scrollWidth, inner: innerWidth })',
      );
      // (A phone widens its layout to what the page needs: innerWidth grows too, when it does.)
      expect(widths, url).toEqual({ scroll: expect.any(Number), inner: 375 });
      expect(widths.scroll, url).toBeLessThanOrEqual(375);
      await page.close();
    }
  });
});
