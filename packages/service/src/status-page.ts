import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AcceptedTokens, acceptedTokens } from './auth.js';
import { bearerIndex, secretMatches } from './bearer.js';
import { RefusalLog } from './refusal-log.js';
import {
  DASHBOARD_CSP,
  DASHBOARD_CSS,
  DASHBOARD_JS,
  dashboardPage,
  loginPage,
} from './status-page-assets.js';

export interface StatusPageOptions {
  /** The admin token (and, during a rotation, the one being retired after it). */
  adminToken: AcceptedTokens;
  /** Names the service in the page's header: "master", "replica uk-london (uk)". */
  heading: string;
  /** The page's `<main>`, rendered (and escaped) now. */
  render: () => string;
  /** What the footer says (HTML). */
  footer: string;
  /**
   * The sign-in cookie's name. Browsers keep cookies by host, not port: a master and its
   * replicas on one host (a demo, a test bed) each need their own, or one sign-in would
   * replace the other's.
   */
  cookie: string;
  /** The clock (ms) passes are issued and checked by; tests pass their own. */
  now?: () => number;
}

const DAY_S = 86_400;

/** Admin tokens shorter than this are warned of: a sign-in cookie seen on the wire lets one be guessed offline. */
const SHORT_TOKEN = 16;

/**
 * A service's status page at /_outpost/ (and /_outpost/dashboard), rendered by the service
 * and refreshed in place every 2 s. With an admin token set it asks for it once and keeps a
 * cookie that shows the page and nothing else: it is derived from the token, not the token,
 * so it can neither call the API nor roll back.
 */
export function registerStatusPage(app: FastifyInstance, d: StatusPageOptions): void {
  const tokens = acceptedTokens(d.adminToken);
  if (tokens.some((t) => t.length < SHORT_TOKEN))
    app.log.warn(
      `the admin token is shorter than ${SHORT_TOKEN} characters: easy to guess, and a dashboard cookie seen on the wire lets one guess it offline`,
    );
  const now = d.now ?? Date.now;
  // A sign-in gets a pass made with the current token; one made with the token being retired
  // still admits until it is unset.
  const guarded = tokens.length > 0;
  const refusals = new RefusalLog();
  const allowed = (req: FastifyRequest) => {
    if (!guarded) return true;
    const cookie = readCookie(req.headers.cookie, d.cookie);
    const byCookie = cookie !== undefined && tokens.some((t) => passHolds(cookie, t, d.cookie, now()));
    return bearerIndex(req.headers.authorization, tokens) >= 0 || byCookie;
  };

  // At /_outpost/ too, the address an admin guesses first (a page, not a redirect: every
  // path under /_outpost/ answers for itself).
  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    hardened(reply);
    if (!allowed(req))
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage(d.heading, false));
    const main = d.render();
    const fragment = (req.query as { fragment?: string }).fragment === '1';
    return reply
      .type('text/html; charset=utf-8')
      .send(fragment ? main : dashboardPage(d.heading, main, d.footer));
  };
  app.get('/_outpost/', page);
  app.get('/_outpost/dashboard', page);
  // Typed without its slash: a relative redirect, which keeps any proxy's prefix.
  app.get('/_outpost', async (_req, reply) => hardened(reply).redirect('_outpost/', 301));

  app.get('/_outpost/dashboard.js', async (_req, reply) =>
    hardened(reply).type('text/javascript; charset=utf-8').send(DASHBOARD_JS),
  );
  app.get('/_outpost/dashboard.css', async (_req, reply) =>
    hardened(reply).type('text/css; charset=utf-8').send(DASHBOARD_CSS),
  );

  app.register(async (scope) => {
    // The sign-in form's body; no other route takes one.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, new URLSearchParams(body as string)),
    );
    scope.post('/_outpost/dashboard/login', async (req, reply) => {
      hardened(reply);
      const form = req.body instanceof URLSearchParams ? req.body : new URLSearchParams();
      const token = form.get('token') ?? '';
      // Relative, as every URL of the pages: '../dashboard' from …/_outpost/dashboard/login.
      if (!guarded) return reply.redirect('../dashboard', 303);
      if (!tokens.map((t) => secretMatches(token.trim(), t)).some(Boolean)) {
        const refused = refusals.note(req.ip);
        if (refused > 0)
          req.log.warn(
            { remote: req.ip, refused },
            `dashboard: wrong admin token${refused > 1 ? ` (${refused} refusals of this client since the last line)` : ''}`,
          );
        // Answered at …/_outpost/dashboard/login: its URLs lead one level up, or the style and a
        // second try would miss (…/dashboard/dashboard/login).
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(loginPage(d.heading, true, '../'));
      }
      const pass = dashboardPass(tokens[0]!, d.cookie, now());
      reply.header(
        'set-cookie',
        `${d.cookie}=${pass}; Path=${proxyPrefix(req)}/_outpost/; HttpOnly; SameSite=Strict; Max-Age=${DAY_S}${isHttps(req) ? '; Secure' : ''}`,
      );
      return reply.redirect('../dashboard', 303);
    });
  });
}

/** Headers every dashboard answer carries: its own code only, never framed, never cached. */
function hardened(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store');
}

/**
 * The cookie value that admits to one service's dashboard for a day: when it was issued, and a
 * MAC of that and the cookie's name (a replica's names the replica) under the token, which it
 * never reveals. It had been one fixed value per token, good on every service sharing the
 * token for as long as the token lasted: one seen on a plain-HTTP replica opened the master's.
 */
export function dashboardPass(token: string, cookie: string, at: number): string {
  const issued = Math.floor(at / 1000).toString(36);
  return `${issued}.${passMac(token, cookie, issued)}`;
}

/** True when `value` is a pass `token` made for `cookie`, issued at most a day before `at`. */
export function passHolds(value: string, token: string, cookie: string, at: number): boolean {
  const dot = value.indexOf('.');
  if (dot <= 0) return false;
  const issued = value.slice(0, dot);
  const seconds = Number.parseInt(issued, 36);
  if (!/^[0-9a-z]{1,12}$/.test(issued) || !Number.isSafeInteger(seconds)) return false;
  const age = at / 1000 - seconds;
  // A minute ahead is a clock's wobble; past a day the browser should have dropped it.
  if (age > DAY_S || age < -60) return false;
  return secretMatches(value.slice(dot + 1), passMac(token, cookie, issued));
}

function passMac(token: string, cookie: string, issued: string): string {
  return createHmac('sha256', token).update(`outpost dashboard|${cookie}|${issued}`).digest('base64url');
}

/** One cookie's value from a Cookie header, or undefined. */
function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The path a proxy serves the service under (`X-Forwarded-Prefix: /outpost`), for the cookie's
 * Path: the browser sees /outpost/_outpost/, which a cookie for /_outpost/ does not match. Only
 * a plain path is taken; anything else is ignored.
 */
function proxyPrefix(req: FastifyRequest): string {
  const h = req.headers['x-forwarded-prefix'];
  const prefix = (Array.isArray(h) ? h[0] : h)?.replace(/\/+$/, '') ?? '';
  const plain = /^(\/[A-Za-z0-9._~-]+)*$/.test(prefix) && !/\/\.{1,2}(\/|$)/.test(prefix);
  return plain ? prefix : '';
}

/** Whether the reader came over TLS (directly, or through a proxy that says so). */
function isHttps(req: FastifyRequest): boolean {
  return req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
}
