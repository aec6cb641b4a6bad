/** A service's status page around its `<main>`, its sign-in page, style and script: served as they are. */

/** Only the master's own script and style, no inline code: a name that slips past escaping cannot run. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Text made safe for HTML: names of files and replicas, and errors, come from outside. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Every URL below is relative, so that a proxy serving the service under a path of its own
// (https://hq.example.com/outpost/_outpost/) needs no rewriting: `up` leads from where the page
// is rendered back to /_outpost/ ('' from /_outpost/ and /_outpost/dashboard, which resolve
// alike; '../' from /_outpost/dashboard/login, where a failed sign-in is answered).
const head = (title: string, refresh: boolean, up = '') => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${up}dashboard.css">
${refresh ? '<noscript><meta http-equiv="refresh" content="5"></noscript>\n<script src="dashboard.js" defer></script>' : ''}
</head>`;

/** The whole page around a rendered `<main>`; `heading` names the service ("master", "replica uk-london"). */
export function dashboardPage(heading: string, main: string, footer: string): string {
  return `${head(`Outpost: ${escapeHtml(heading)}`, true)}
<body>
<header><strong>Outpost</strong> ${escapeHtml(heading)} <span id="link" class="ok">refreshed every 2 s</span></header>
${main}
<footer>${footer}</footer>
</body>
</html>
`;
}

/**
 * The page asking for the admin token, with why when a try failed; `up` as in `head` (the
 * failed try's page is the answer to the form, at …/_outpost/dashboard/login).
 */
export function loginPage(heading: string, failed: boolean, up: '' | '../' = ''): string {
  return `${head('Outpost: sign in', false, up)}
<body>
<header><strong>Outpost</strong> ${escapeHtml(heading)}</header>
<main class="login">
<h1>Admin token</h1>
<p>This service asks for its admin token (<code>OUTPOST_ADMIN_TOKEN</code>) to show its status page.</p>
${failed ? '<p class="alert">That token is not the admin token.</p>' : ''}
<form method="post" action="${up}dashboard/login">
<input type="password" name="token" autocomplete="current-password" required autofocus aria-label="admin token">
<button type="submit">Show the dashboard</button>
</form>
</main>
</body>
</html>
`;
}

/**
 * Fetches the page's `<main>` again every 2 s and puts it in place: the master renders and
 * escapes it, so nothing here turns data into markup. A failed fetch keeps what was last shown
 * and says since when the service cannot be reached.
 */
export const DASHBOARD_JS = `'use strict';
(() => {
  const link = document.getElementById('link');
  let failingSince = null;
  async function refresh() {
    try {
      const res = await fetch('dashboard?fragment=1', { cache: 'no-store', credentials: 'same-origin' });
      if (res.status === 401) return location.reload();
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const next = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('main');
      const shown = document.querySelector('main');
      if (next && shown) shown.replaceWith(document.importNode(next, true));
      failingSince = null;
      link.textContent = 'refreshed every 2 s';
      link.className = 'ok';
    } catch {
      failingSince = failingSince || new Date();
      link.textContent = 'cannot reach the service since ' + failingSince.toLocaleTimeString() + ': showing what it said last';
      link.className = 'down';
    }
  }
  setInterval(refresh, 2000);
})();
`;

export const DASHBOARD_CSS = `:root { color-scheme: light dark; --ok: #1a7f37; --info: #0969da; --warn: #9a6700; --bad: #cf222e; --muted: #6e7781; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 80rem; padding: 0 1rem 2rem; }
header { display: flex; gap: .5rem; align-items: baseline; padding: .75rem 0; border-bottom: 1px solid #8884; }
header #link { margin-left: auto; font-size: 12px; }
#link.ok { color: var(--muted); } #link.down { color: var(--bad); font-weight: 600; }
h1 { font-size: 1.6rem; margin: 1rem 0 .25rem; } h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
h2 small { font-weight: normal; color: var(--muted); margin-left: .5rem; }
dl { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0; } dt { color: var(--muted); } dd { margin: 0 0 0 -1.2rem; }
/* A table wider than a phone scrolls in its own box (.wide), never the page sideways. */
.wide { overflow-x: auto; } table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #8883; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.error { color: var(--bad); max-width: 32rem; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; color: #fff; font-size: 12px; background: var(--muted); }
.state-in-sync .badge { background: var(--ok); } .state-syncing .badge { background: var(--info); }
.state-behind .badge { background: var(--warn); } .state-error .badge { background: var(--bad); }
.note { color: var(--info); } .alert { color: var(--bad); font-weight: 600; } .muted { color: var(--muted); }
code { font: 12px ui-monospace, monospace; overflow-wrap: anywhere; }
footer { margin-top: 2rem; color: var(--muted); font-size: 12px; }
.login form { display: flex; gap: .5rem; } .login input { flex: 0 1 20rem; padding: .3rem; }
`;
