import { z } from 'zod';
import { AdvertiseAddress } from './advertise.js';
import { LIMITS } from './limits.js';
import { MASTER_URL_FORM, withoutAdminBase } from './master-url.js';
import { ByteSize, Label } from './scalars.js';

/**
 * A number from a flag or variable, in decimal digits only (`fraction`: with a decimal part,
 * `1.5`); a number from code as it is. Coercing with Number() took an empty `--port ''` as 0,
 * a random port (where an empty OUTPOST_PORT= is unset, the default), `0x50` as 80,
 * `0b11111111111` as 2047 and `1e4` as 10000.
 */
function decimal(opts: { fraction?: boolean } = {}) {
  const digits = opts.fraction ? /^\d+(?:\.\d+)?$/ : /^\d+$/;
  const want = opts.fraction
    ? 'a number in decimal digits, such as 7 or 1.5'
    : 'a whole number in decimal digits';
  return z.union([z.number(), z.string()], { error: `expected ${want}` }).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    if (digits.test(v)) return Number(v);
    ctx.addIssue({
      code: 'custom',
      message: v === '' ? `expected ${want}, not an empty value` : `expected ${want}, not '${v}'`,
    });
    return z.NEVER;
  });
}

/** A whole number from min to max, written in decimal digits. */
const Int = (min: number, max: number) => decimal().pipe(z.number().int().min(min).max(max));

const Port = Int(0, 65535);
/**
 * What a token may be: what an `Authorization: Bearer` header carries intact, printable ASCII
 * with no space at either end. A token with a line break (the last newline of a secret file)
 * made the replica end with a stack trace (Node refuses it in a header), and the CLI say it
 * could not reach the master; one with a space at either end, or a non-ASCII letter, was
 * taken and then never matched, so every request got 401.
 */
export const TOKEN_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
export const TOKEN_PROBLEM =
  'a token is printable ASCII with no space or line break at either end (a newline left from a file?)';
const Secret = z.string().max(4096).regex(TOKEN_PATTERN, TOKEN_PROBLEM).optional();
const Millis = Int(1, 3_600_000);

/** A DNS zone the master answers for: `corp.example` (lowercase, trailing dot dropped). */
export const ZoneName = z
  .string()
  .trim()
  .toLowerCase()
  .transform((s) => s.replace(/\.$/, ''))
  .pipe(
    z
      .string()
      .max(200)
      .regex(
        /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/,
        'a DNS name such as corp.example',
      ),
  );

/**
 * The region fallback order: `uk:eu,us;asia:us;*:us` — when a region has no replica to answer
 * with, the first of its list that has one answers instead (`*` for any region not listed).
 */
export const DnsFallback = z
  .string()
  .max(4096)
  .transform((text, ctx) => {
    const out: Record<string, string[]> = {};
    for (const part of text.split(';')) {
      if (part.trim() === '') continue;
      const m = /^\s*([a-z0-9-]+|\*)\s*:\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*$/.exec(part);
      if (!m || (m[1] !== '*' && !Label.safeParse(m[1]).success)) {
        ctx.addIssue({
          code: 'custom',
          message: `'${part.trim()}' is not REGION:REGION,REGION… (e.g. uk:eu,us;asia:us)`,
        });
        return z.NEVER;
      }
      const region = m[1]!;
      const list = m[2]!.split(',').map((r) => r.trim());
      // Which of two lists would win was the parser's secret; a region is its own first choice.
      const problem =
        region in out
          ? `region ${region} is given two lists ('${part.trim()}' and an earlier one): give one`
          : list.includes(region)
            ? `'${part.trim()}': region ${region} falls back to itself`
            : new Set(list).size !== list.length
              ? `'${part.trim()}': a region is listed twice`
              : null;
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      out[region] = list;
    }
    return out;
  });

/**
 * True for a one-segment pattern that every name matches (`*`, `**`, `?*`, `*?`): wildcards
 * only, at least one `*`, at most one `?` (every name has one character). At the top it leaves
 * out every file and folder, and a replica then serves nothing.
 */
function matchesEveryName(segment: string): boolean {
  if (!/^[*?]+$/.test(segment)) return false;
  return segment.includes('*') && segment.split('?').length <= 2;
}

/** Why an `--exclude` pattern cannot be used, or null. */
function excludeProblem(p: string): string | null {
  if (p.startsWith('!')) return 'negation (!) is not supported: list what to leave out';
  const body = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (body === '' || matchesEveryName(body)) return 'it would leave out the whole content directory';
  if (body.split('/').some((s) => s === '.' || s === '..'))
    return 'no . or .. folders: a pattern matches paths inside the content directory';
  if (body.split('/').some((s) => s === '')) return 'an empty folder name (//)';
  return null;
}

/**
 * Paths the master never publishes (`--exclude`): glob patterns, from the command line (the
 * flag may be given more than once) or separated by `;`.
 */
export const ExcludePatterns = z
  .union([z.string().max(16_384), z.array(z.string().max(1024)).max(256)])
  .transform((v, ctx) => {
    const list = (typeof v === 'string' ? v.split(';') : v).map((s) => s.trim()).filter((s) => s !== '');
    // `--exclude ';'` says something was meant to be left out, and nothing is.
    if (list.length === 0 && (typeof v === 'string' ? v.trim() !== '' : v.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `'${typeof v === 'string' ? v : v.join(';')}' holds no pattern`,
      });
      return z.NEVER;
    }
    for (const p of list) {
      const problem = excludeProblem(p);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `exclude pattern '${p}': ${problem}` });
        return z.NEVER;
      }
    }
    return list;
  });

/** Bytes of stored chunks a background scrub re-hashes per second (0: no scrub). */
const ScrubRate = Int(0, 1e10).default(8 * 1024 * 1024);

export const MasterConfigSchema = z
  .object({
    content: z.string().min(1),
    data: z.string().min(1),
    host: z.string().min(1).default('127.0.0.1'),
    port: Port.default(7070),
    /** Serve HTTPS with this certificate chain (PEM) and key; with neither, plain HTTP. */
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    token: Secret,
    /**
     * During a rotation of the replication token, the one being retired: accepted beside
     * `token`, and status names the replicas that still present it.
     */
    previousToken: Secret,
    adminToken: Secret,
    /** During a rotation of the admin token, the one being retired: accepted beside `adminToken`. */
    previousAdminToken: Secret,
    /** A file of `NAME TOKEN` lines: each replica's own replication token (SIGHUP reads it again). */
    replicaTokens: z.string().min(1).optional(),
    /** A burst of file events is published once it has been quiet this long. */
    quietMs: Millis.default(30),
    /** A steady stream of events still publishes at least this often. */
    maxDelayMs: Millis.default(1000),
    /** A file is published only once it has not been modified for this long (0: at once). */
    settleMs: Int(0, 60_000).default(50),
    /** Files at least this many MiB are read one at a time beside other changes, each its own version. */
    laneMib: Int(1, 1_048_576).default(64),
    /** Versions kept (the newest K); older ones, and what only they need, are collected. */
    keepVersions: Int(1, 1_000_000).default(100),
    /** Also keep every version younger than this many days. */
    keepDays: decimal({ fraction: true }).pipe(z.number().min(0).max(36_500)).optional(),
    /** Paths never published: glob patterns (see ExcludePatterns). */
    exclude: ExcludePatterns.default([]),
    /** How often the whole content directory is looked over for changes the watcher missed (0: never). */
    rewalkMs: Int(0, 86_400_000).default(600_000),
    /** How often a replica is expected to say ping; it is offline after missing three. */
    heartbeatMs: Millis.default(5000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** The DNS zone the master answers for (no zone: no DNS server). */
    zone: ZoneName.optional(),
    /** DNS port (UDP and TCP). */
    dnsPort: Port.default(5353),
    /** Address the DNS server listens on (default: --host). */
    dnsHost: z.string().min(1).optional(),
    /** TTL of every answer, in seconds: short, so a replica that drops out is soon forgotten. */
    dnsTtl: Int(0, 86_400).default(5),
    /** Replicas up to this many versions behind the latest are still answered. */
    dnsMaxLag: Int(0, 1_000_000).default(0),
    /** Region fallback order when a region has no replica to answer with. */
    dnsFallback: DnsFallback.default({}),
    /** `all`: every eligible replica, rotated by weight; `one`: one record per answer, chosen by weight. */
    dnsMode: z.enum(['all', 'one']).default('all'),
    /** On stop, responses in flight (chunk fetches, pulls) may finish for this long; then they are cut. */
    drainMs: Int(0, 3_600_000).default(10_000),
    /** Stored chunks re-hashed per second in the background, damaged ones mended from their files (0: off). */
    scrubBytesPerSecond: ScrubRate,
  })
  .superRefine((v, ctx) => {
    // DNS listens on TCP too: on the master's own port it fails as if another process held it.
    if (v.zone !== undefined && v.dnsPort === v.port && v.dnsPort !== 0 && (v.dnsHost ?? v.host) === v.host)
      ctx.addIssue({
        code: 'custom',
        path: ['dnsPort'],
        message: `${v.dnsPort} is --port too: DNS listens on TCP as well as UDP; give it another port`,
      });
  });

/** A configuration that parses but cannot be run with (a content directory that is not there). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const ReplicaConfigSchema = z.object({
  name: Label,
  region: Label,
  /**
   * The master's URL, with any path prefix (a proxy's). No query or fragment: API paths are
   * appended to it, and `http://hq:7070?x=1` would ask for `/?x=1/_outpost/…`.
   */
  master: z
    .url({ protocol: /^https?$/, error: 'not an http:// or https:// URL' })
    .refine((v) => !/[?#]/.test(v), "a master's URL takes no query (?…) or fragment (#…)")
    // A pasted admin base path is taken off, as `outpost status` takes it off; it made a
    // replica retry for ever against a 404 ("answers, but not as an outpost master").
    .transform((v, ctx) => {
      const url = new URL(v);
      const path = withoutAdminBase(url.pathname);
      if (path === null) {
        ctx.addIssue({ code: 'custom', message: MASTER_URL_FORM });
        return z.NEVER;
      }
      if (path === url.pathname) return v;
      url.pathname = path;
      return url.href;
    }),
  data: z.string().min(1),
  host: z.string().min(1).default('127.0.0.1'),
  port: Port.default(7080),
  /** Serve HTTPS with this certificate chain (PEM) and key; with neither, plain HTTP. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  token: Secret,
  adminToken: Secret,
  /** During a rotation of the admin token, the one being retired: accepted beside `adminToken`. */
  previousAdminToken: Secret,
  /** With HTTPS: plain HTTP on this port too, answering every request with a redirect to HTTPS. */
  httpRedirectPort: Port.optional(),
  /** A line per response to this file (default: no access log); SIGHUP opens it again. */
  accessLog: z.string().min(1).optional(),
  /** `combined` (nginx's and Apache's default) or `json` (with the version served and the time taken). */
  accessLogFormat: z.enum(['combined', 'json']).default('combined'),
  /** Where readers should reach this replica (host:port), told to the master. */
  advertise: AdvertiseAddress.optional(),
  /** Cache-Control by path prefix: `/static/=public, max-age=3600;/=no-cache` (default no-cache). */
  cacheControl: z.string().max(4096).optional(),
  /** An HTML listing for a directory without index.html (default: 404). */
  dirListing: z.union([z.boolean(), z.stringbool()]).default(false),
  /** Serve br/gzip copies of compressible files, computed once per file version. */
  compress: z.union([z.boolean(), z.stringbool()]).default(true),
  /** An idle keep-alive connection is closed after this (long: a reader may still be draining). */
  keepAliveMs: Millis.default(65_000),
  /** A request's headers must all arrive within this (slowloris). */
  headersTimeoutMs: Int(100, 30_000).default(10_000),
  /** On stop, responses in flight may finish for this long; then their connections are cut (0: at once). */
  drainMs: Int(0, 3_600_000).default(10_000),
  /** Stored chunks re-hashed per second in the background, damaged ones fetched again (0: off). */
  scrubBytesPerSecond: ScrubRate,
  /**
   * Fetch the chunks of a large change while the master is still reading it (it tells them as
   * it stores them), rather than only once its version is cut.
   */
  prefetch: z.union([z.boolean(), z.stringbool()]).default(true),
  /**
   * Answer plain GETs and HEADs of small files straight on the socket (plain HTTP only), and
   * leave every other request to node:http; off: node:http answers every request.
   */
  directLane: z.union([z.boolean(), z.stringbool()]).default(true),
  /** Most bytes per second fetched from the master, for offices on thin links (0: no limit). */
  maxRate: ByteSize.pipe(
    z
      .number()
      .int()
      .max(1e12)
      .refine(
        (n) => n === 0 || n >= LIMITS.minRateBytes,
        `a rate limit is at least ${LIMITS.minRateBytes} bytes/s (8k), or 0 for none`,
      ),
  ).default(0),
  /**
   * Ask the master for compressible chunks deflated on the wire: 'auto' while chunks arrive
   * slowly enough for that to pay (and always under --max-rate), 'always', or 'never'. A
   * boolean is read as 'auto' (true, the old default) or 'never'.
   */
  wireCompression: z
    .union([z.enum(['auto', 'always', 'never']), z.boolean(), z.stringbool()], {
      error: "expected 'auto', 'always' or 'never'",
    })
    .default('auto')
    .transform((v) => (v === true ? 'auto' : v === false ? 'never' : v)),
  /**
   * With 'auto': chunks arriving faster than this (bytes/s) are asked for raw, and deflated
   * again once they arrive at under half of it.
   */
  wireRawAbove: ByteSize.pipe(
    z
      .number()
      .int()
      .min(LIMITS.minRateBytes, `a rate is at least ${LIMITS.minRateBytes} bytes/s (8k)`)
      .max(1e12),
  ).default(40 * 1024 * 1024),
  /**
   * Space kept free on the data volume: a version whose missing chunks would not fit with this
   * much left over is refused before any is fetched. 'off' skips the check (a compressing file
   * system can hold more bytes than it reports free).
   */
  minFreeSpace: z
    .union([z.literal('off'), ByteSize.pipe(z.number().int().max(1e15))], {
      error: "expected a byte size such as 0, 512MiB or 2G, or 'off'",
    })
    .default(0),
  /** How often to pull while the push link is down. */
  pollMs: Millis.default(2000),
  heartbeatMs: Millis.default(5000),
  /** Backoff between reconnects grows from min to max, with full jitter. */
  reconnectMinMs: Millis.default(250),
  reconnectMaxMs: Millis.default(30_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type MasterConfigInput = z.input<typeof MasterConfigSchema>;
export type MasterConfig = z.infer<typeof MasterConfigSchema>;
export type ReplicaConfigInput = z.input<typeof ReplicaConfigSchema>;
export type ReplicaConfig = z.infer<typeof ReplicaConfigSchema>;
