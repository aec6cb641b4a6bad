import {
  API_PREFIX,
  describeTlsTrouble,
  MASTER_URL_FORM,
  TOKEN_PATTERN,
  TOKEN_PROBLEM,
  withoutAdminBase,
} from '@outpost/protocol';
import type { ZodType } from 'zod';
import { flagAsGiven } from './args.js';
import { UnexpectedAnswerError, UsageError } from './errors.js';

/**
 * How long a command waits for the master to answer. undici's own default is 300 s for the
 * headers and again for the body: a master (or a proxy before it) that takes the connection
 * and never answers held `outpost status` for five minutes, where a script wants to know.
 */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A rollback answers once its version is published: it waits for a publish in progress, then
 * checks every chunk it needs and writes the content directory, which over a large tree takes
 * minutes, not seconds. Timing it out at 30 s would say "no answer" of a rollback that goes on.
 */
export const ROLLBACK_TIMEOUT_MS = 600_000;

const MAX_TIMEOUT_MS = 86_400_000;

/** `--timeout-ms` (OUTPOST_TIMEOUT_MS), decimal digits only, or `fallback` when not given. */
export function timeoutOf(flags: Record<string, string>, fallback: number): number {
  const raw = flags.timeoutMs;
  if (raw === undefined) return fallback;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(ms >= 1 && ms <= MAX_TIMEOUT_MS))
    throw new UsageError(
      `${flagAsGiven('timeoutMs')} '${raw}': expected a whole number of milliseconds, from 1 to ${MAX_TIMEOUT_MS}`,
    );
  return ms;
}

/**
 * The master's base URL from --master: http or https, with an optional path prefix (a master
 * behind a proxy at `https://hq.example.com/outpost`). A query or fragment is refused: the API
 * path used to be appended to the string, so `http://hq:7070?x=1` asked for `/?x=1/_outpost/…`.
 * A trailing admin base path (`/_outpost`, `/_outpost/api/v1`) is taken off; other paths
 * under `/_outpost/` are refused.
 */
export function masterUrl(raw: string | undefined, command: string): URL {
  if (!raw) throw new UsageError(`${command} needs --master URL (or OUTPOST_MASTER)`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Said as "cannot reach the master" before: a typo in the URL read as a network fault.
    throw new UsageError(
      raw.includes('://')
        ? `--master ${raw}: not a valid URL (a port is 1 to 65535, an IPv6 address goes in [ ]); e.g. http://hq.example.com:7070`
        : `--master ${raw}: not a URL: give it with its scheme, as http://${raw}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--master ${raw}: not an http:// or https:// URL`);
  // The raw text too: `new URL` drops an empty query or fragment (`http://hq:7070?`).
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(raw))
    throw new UsageError(
      `--master ${raw}: a master's URL takes no query (?…) or fragment (#…); give its address and any path prefix, e.g. https://hq.example.com/outpost`,
    );
  const path = withoutAdminBase(url.pathname);
  if (path === null) throw new UsageError(`--master ${raw}: ${MASTER_URL_FORM}`);
  url.pathname = path;
  return url;
}

/** An admin API path under the master's URL (and its path prefix, if any). */
export function apiUrl(master: URL, path: string): URL {
  const url = new URL(master.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${API_PREFIX}${path}`;
  return url;
}

/** OpenSSL's ways of saying that what answered on the port is not TLS (plain HTTP, mostly). */
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

type RequestError = (Error & { code?: string; cause?: { code?: string; message?: string } }) | undefined;

/** True when the master took the connection but did not answer (all) in time. */
export function isTimeout(err: unknown): boolean {
  const e = err as RequestError;
  const code = e?.code ?? e?.cause?.code;
  // undici's own timers, or the deadline's AbortSignal (a DOMException named TimeoutError).
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || e?.name === 'TimeoutError';
}

/** Why a request to the master failed, in one line an admin can act on (no OpenSSL jargon). */
export function describeRequestFailure(err: unknown, master: string, timeoutMs: number): string {
  const e = err as RequestError;
  const code = e?.code ?? e?.cause?.code ?? '';
  const detail = e?.cause?.message ?? e?.message ?? String(err);
  if (isTimeout(err))
    return `the master at ${master} did not answer within ${seconds(timeoutMs)} (--timeout-ms ${timeoutMs}): is it hung or overloaded, or is a proxy in between holding the request?`;
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return `cannot reach the master at ${master}: no answer to connect (a firewall dropping packets, or a host that is down?)`;
  if (NOT_TLS.has(code))
    return `cannot reach the master at ${master}: what answers there does not speak TLS (plain HTTP?); use --master ${master.replace(/^https:/i, 'http:')}`;
  const tls = describeTlsTrouble(code, detail, master);
  if (tls !== null) return tls;
  // An HTTPS server sent plain HTTP closes the connection without a word.
  if (code === 'UND_ERR_SOCKET' && /^http:/i.test(master))
    return `cannot reach the master at ${master}: ${detail} (does it serve HTTPS? then --master ${master.replace(/^http:/i, 'https:')})`;
  if (code === 'ECONNREFUSED')
    return `cannot reach the master at ${master}: connection refused (is it running, on that port?)`;
  return `cannot reach the master at ${master}: ${detail}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  /** A status that is no failure to report (the caller handles it): not printed. */
  quietStatus?: number;
  timeoutMs?: number;
  /**
   * When the whole command gives up (Date.now() ms): a command that asks the master several
   * things (`status` asks for the status, the DNS view and the refused paths) has one
   * --timeout-ms for all of them, as a monitoring check that fits its own deadline expects.
   */
  deadline?: number;
  /** Said after a timeout (what may have happened anyway). */
  afterTimeout?: string;
  /** Where failures are said (stderr). */
  write?: (line: string) => void;
}

export type CallResult = { ok: true; body: unknown } | { ok: false; status: number };

/** Calls the master's admin API; a failure is said in one line, and `ok: false` becomes exit 2. */
export async function callMaster(
  command: string,
  flags: Record<string, string>,
  adminToken: string | undefined,
  path: string,
  opts: CallOptions = {},
): Promise<CallResult> {
  const { body, quietStatus, timeoutMs = DEFAULT_TIMEOUT_MS, deadline } = opts;
  // What is left of the command's time; the message still names the whole --timeout-ms.
  const waitMs = deadline === undefined ? timeoutMs : Math.max(1, Math.min(timeoutMs, deadline - Date.now()));
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const base = masterUrl(flags.master, command);
  const master = flags.master!;
  // A token no header can carry (a line break) was said as `cannot reach the master`.
  if (adminToken !== undefined && !TOKEN_PATTERN.test(adminToken))
    throw new UsageError(`OUTPOST_ADMIN_TOKEN: ${TOKEN_PROBLEM}`);
  // Named, so that the master's warning of a client still on the admin token being retired
  // says what it is (undici sends no User-Agent of its own): a forgotten cron job of
  // `outpost status` shows up as such, beside its address.
  const headers: Record<string, string> = { 'user-agent': `outpost-cli (${command})` };
  if (adminToken) headers.authorization = `Bearer ${adminToken}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let statusCode: number;
  let text: string;
  const { request } = await import('./undici-request.js');
  try {
    const res = await request(apiUrl(base, path), {
      method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: waitMs,
      bodyTimeout: waitMs,
      // The two above time out a silence; this, a body that trickles in forever.
      signal: AbortSignal.timeout(waitMs),
    });
    statusCode = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    // Refused, not resolved, timed out, not TLS: the user's to look into, said in one line.
    const line = describeRequestFailure(err, master, timeoutMs);
    const after = isTimeout(err) && opts.afterTimeout ? `; ${opts.afterTimeout}` : '';
    write(`outpost: ${line}${after}\n`);
    return { ok: false, status: 0 };
  }
  if (statusCode < 200 || statusCode >= 300) {
    if (statusCode === quietStatus) return { ok: false, status: statusCode };
    let detail = text;
    let noRoute = false;
    try {
      const problem = JSON.parse(text) as { title?: string; detail?: string };
      detail = [problem.title, problem.detail].filter(Boolean).join(': ');
      noRoute = statusCode === 404 && /^no route for /.test(problem.detail ?? '');
    } catch {
      // Not a problem body: show it as it came.
    }
    // `versions`, `rollback` or `forget` sent to a replica: say so, as `status` does, rather
    // than `master answered 404: Not Found: no route for GET /_outpost/api/v1/versions`.
    if (noRoute && path !== '/status') {
      const probe = await callMaster(command, flags, adminToken, '/status', {
        timeoutMs,
        deadline: deadline ?? Date.now() + timeoutMs,
        write: () => {},
      });
      const who = probe.ok
        ? (probe.body as { role?: unknown; name?: unknown; region?: unknown } | null)
        : null;
      if (who?.role === 'replica') {
        write(
          `outpost: ${master} is replica ${String(who.name)} (region ${String(who.region)}), not a master: --master takes the master's URL\n`,
        );
        return { ok: false, status: statusCode };
      }
    }
    write(`outpost: master answered ${statusCode}: ${detail}\n`);
    return { ok: false, status: statusCode };
  }
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    write(
      `outpost: ${master} answered ${statusCode} with something other than JSON: is it an Outpost master?\n`,
    );
    return { ok: false, status: statusCode };
  }
}

/**
 * Reads a master's answer with its schema. One that does not fit is the master's (or whatever
 * answers at --master) to explain, not the user's flags: it used to reach the handler of
 * invalid options and print as `invalid options: --rolled-back-to: …`.
 */
export function parseAnswer<T>(schema: ZodType<T>, body: unknown, master: string, path: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  throw new UnexpectedAnswerError(
    `the master at ${master} answered something unexpected for ${API_PREFIX}${path}: ${where}${issue?.message ?? 'not the expected shape'} (is --master an Outpost master, of this version?)`,
  );
}
