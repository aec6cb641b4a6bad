import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** One flag: its name, the environment variable it falls back to ('' for none), and help text. */
interface Flag {
  name: string;
  env: string;
  help: string;
  /** A switch: no value on the command line; 1/true/yes (or 0/false/no) in the environment. */
  boolean?: boolean;
  /** May be given more than once: the values are joined with `;` (the variable holds them so). */
  multiple?: boolean;
  /**
   * Refused when given twice, where others take the last (a wrapper's default, then the
   * user's): what a command that changes the master acts on. `rollback --to 5 --to 6` rolled
   * back to 6 without a word.
   */
  once?: boolean;
}

const F = (name: string, help: string, boolean = false): Flag => ({
  name,
  env: `OUTPOST_${name.toUpperCase().replace(/-/g, '_')}`,
  help,
  boolean,
});

export const COMMON_FLAGS: Flag[] = [
  F('host', 'address to listen on'),
  F('port', 'port to listen on'),
  F('tls-cert', 'serve HTTPS with this certificate chain (PEM file); SIGHUP reads it and --tls-key again'),
  F('tls-key', 'the private key of --tls-cert (PEM file)'),
  F('log-level', 'fatal … trace, or silent'),
];

export const MASTER_FLAGS: Flag[] = [
  F('content', 'the content directory to publish'),
  F('data', 'where the master keeps its store'),
  ...COMMON_FLAGS,
  F(
    'replica-tokens',
    'a file of NAME TOKEN lines: each replica its own replication token, good for that name only (SIGHUP reads it again)',
  ),
  F('quiet-ms', 'publish a burst of edits once quiet this long (default 30)'),
  F('max-delay-ms', 'publish a steady stream of edits at least this often (default 1000)'),
  F('settle-ms', 'publish a file only once unmodified this long (default 50)'),
  F(
    'lane-mib',
    'read files this large (MiB) one at a time beside other edits, each published as its own version (default 64)',
  ),
  {
    ...F(
      'exclude',
      "never publish paths matching this glob: at any depth without a '/' ('.git', '*.log'), from the content root with one ('/drafts', 'build/**/*.map'); give it again, or separate with ';'",
    ),
    multiple: true,
  },
  F('keep-versions', 'versions kept; older ones are garbage-collected (default 100)'),
  F('keep-days', 'also keep every version younger than this many days'),
  F('heartbeat-ms', 'expected replica heartbeat interval (default 5000)'),
  F(
    'rewalk-ms',
    'look over the whole tree for changes the watcher missed this often (default 600000; 0: never)',
  ),
  F('zone', 'serve authoritative DNS for this zone, e.g. corp.example (default: no DNS)'),
  F('dns-port', 'DNS port, UDP and TCP (default 5353)'),
  F('dns-host', 'address the DNS server listens on (default: --host)'),
  F('dns-ttl', 'TTL of DNS answers in seconds (default 5)'),
  F('dns-max-lag', 'answer replicas up to this many versions behind (default 0)'),
  F('dns-fallback', "region fallback order, e.g. 'uk:eu,us;asia:us;*:us'"),
  F('dns-mode', "'all': every eligible replica, rotated by load; 'one': one per answer (default all)"),
  F(
    'drain-ms',
    'on SIGTERM, let responses in flight finish for up to this long, then cut them (default 10000)',
  ),
  F(
    'scrub-bytes-per-second',
    'stored chunks re-hashed per second in the background, damaged ones mended from their files (default 8 MiB; 0: off)',
  ),
];

export const REPLICA_FLAGS: Flag[] = [
  F('name', 'this replica, e.g. uk-london'),
  F('region', 'its region, e.g. uk'),
  F('master', 'the master URL, e.g. http://hq.example:7070'),
  F('data', 'where the replica keeps its store'),
  ...COMMON_FLAGS,
  F('advertise', 'IP:PORT ([IPv6]:PORT) readers use to reach this replica (default: --host:--port)'),
  F('cache-control', "Cache-Control by path prefix, e.g. '/static/=public, max-age=3600;/=no-cache'"),
  F('dir-listing', 'list directories that have no index.html', true),
  F('no-compress', 'do not serve br/gzip copies of compressible files', true),
  F('keep-alive-ms', 'close an idle keep-alive connection after this long (default 65000)'),
  F('headers-timeout-ms', 'a request head must arrive within this long (default 10000)'),
  F(
    'http-redirect-port',
    'with --tls-cert: also listen for plain HTTP on this port, redirecting every request to HTTPS',
  ),
  F(
    'access-log',
    'write a line per response to this file (default: none); SIGHUP opens it again, for logrotate',
  ),
  F('access-log-format', "'combined' (nginx's and Apache's default line) or 'json' (default combined)"),
  F(
    'drain-ms',
    'on SIGTERM, let responses in flight finish for up to this long, then cut them (default 10000)',
  ),
  F('scrub-bytes-per-second', 'stored chunks re-hashed per second in the background (default 8 MiB; 0: off)'),
  F(
    'max-rate',
    'most bytes/s fetched from the master, e.g. 2MiB (K, M, G are 1024-based; at least 8k; default: no limit)',
  ),
  F(
    'wire-compression',
    "ask for compressible chunks deflated on the wire: 'auto' (under --max-rate, and while chunks arrive slower than --wire-raw-above), 'always', 'never' (default auto)",
  ),
  F(
    'wire-raw-above',
    'with --wire-compression=auto, ask for raw chunks while they arrive faster than this (bytes/s), deflated again below half of it (default 40MiB)',
  ),
  F('no-wire-compression', 'never ask for chunks deflated on the wire (--wire-compression=never)', true),
  F(
    'no-prefetch',
    'fetch the chunks of a large change only once its version is cut, not while the master still reads it',
    true,
  ),
  F(
    'no-direct-lane',
    'answer every request through node:http, not plain GETs of small files straight on the socket (slower; for comparison)',
    true,
  ),
  F(
    'min-free-space',
    "refuse, before fetching anything, a version whose chunks would leave less than this free on the data volume, e.g. 1GiB (default 0: refuse only what cannot fit; 'off': no check, for a compressing file system)",
  ),
  F('poll-ms', 'pull interval while the push link is down (default 2000)'),
  F('heartbeat-ms', 'heartbeat interval (default 5000)'),
];

/** How long a command waits for the master's answer; a master that never answers ends it with exit 2. */
const TIMEOUT = (fallback: string) =>
  F('timeout-ms', `give up on a master that has not answered within this long (default ${fallback})`);

export const STATUS_FLAGS: Flag[] = [
  F('master', 'the master URL'),
  F('json', 'print the raw JSON', true),
  TIMEOUT('30000'),
];

export const VERIFY_FLAGS: Flag[] = [
  F('data', 'the data directory of a master or replica'),
  F('json', 'print the raw JSON', true),
];

export const COMPACT_FLAGS: Flag[] = [
  F('data', 'the data directory of a stopped master or replica'),
  F('json', 'print the raw JSON', true),
];

export const ROLLBACK_FLAGS: Flag[] = [
  { ...F('master', 'the master URL'), once: true },
  { ...F('to', 'the kept version to roll back to'), once: true },
  // A rollback answers once published: over a large tree that takes minutes.
  TIMEOUT('600000'),
];

export const FORGET_FLAGS: Flag[] = [
  { ...F('master', 'the master URL'), once: true },
  // Only from the command line: a replica host's OUTPOST_NAME must not choose what is forgotten.
  {
    ...F('name', 'the replica to forget, as status names it (from the command line only)'),
    env: '',
    once: true,
  },
  TIMEOUT('30000'),
];

/** Reads flags, falling back to OUTPOST_* environment variables; returns camelCased values. */
export function readFlags(argv: string[], flags: Flag[], env: NodeJS.ProcessEnv): Record<string, string> {
  const options = Object.fromEntries(
    flags.map((f) => [
      f.name,
      { type: f.boolean ? ('boolean' as const) : ('string' as const), multiple: f.multiple === true },
    ]),
  );
  const { values, tokens } = parseArgs({
    args: argv,
    options,
    strict: true,
    allowPositionals: false,
    tokens: true,
  });
  // parseArgs keeps the last of a flag given twice; a flag that must be given once says so.
  const once = new Set(flags.filter((f) => f.once).map((f) => f.name));
  const seen = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined || !once.has(t.name)) continue;
    const first = seen.get(t.name);
    if (first !== undefined)
      throw new UsageError(`--${t.name} given twice ('${first}' and '${t.value}'): give it once`);
    seen.set(t.name, t.value);
  }
  const out: Record<string, string> = {};
  for (const f of flags) {
    // An empty flag is refused rather than read: `--port ''` listened on a random port (an
    // empty string read as 0), where an empty OUTPOST_PORT= gave the default. A flag given is
    // meant to say something; a script's unset variable (`--port "$PORT"`) should not pass.
    const given = values[f.name];
    if (given === '' || (Array.isArray(given) && given.includes('')))
      throw new UsageError(
        `--${f.name} '': an empty value; give one (a flag left out takes its default, where it has one)`,
      );
    // An empty variable is unset, as a shell user means by `OUTPOST_PORT=`.
    const fromEnv = given === undefined && f.env !== '' && env[f.env] ? env[f.env] : undefined;
    const v = (Array.isArray(given) ? given.join(';') : given) ?? fromEnv;
    if (v === undefined || v === false) continue;
    if (fromEnv !== undefined) fromEnvironment.set(camel(f.name), f.env);
    if (v === true || !f.boolean) out[camel(f.name)] = String(v);
    else if (switchValue(f, v)) out[camel(f.name)] = 'true';
  }
  return out;
}

/**
 * The config keys whose values came from an OUTPOST_* variable, and its name: an error in
 * one names the variable, which a user who set it in a systemd environment file never typed
 * as a flag.
 */
export const fromEnvironment = new Map<string, string>();

/** How an error names a flag (its camelCased key): with the variable its value came from, if one did. */
export function flagAsGiven(key: string): string {
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const variable = fromEnvironment.get(key);
  return variable === undefined ? flag : `${variable} (${flag})`;
}

/**
 * A switch's value in its variable. Anything but the words for on and off is refused: a typo
 * (`OUTPOST_NO_COMPRESS=ture`, `OUTPOST_JSON=y`) was taken as off without a word, and the
 * service ran with the opposite of what was meant.
 */
function switchValue(f: Flag, v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new UsageError(
    `${f.env}='${v}': --${f.name} is a switch: 1, true, yes or on for on; 0, false, no, off or empty for off`,
  );
}

/** Help text for a command's flags. */
export function describeFlags(flags: Flag[]): string {
  return flags.map((f) => `  --${f.name.padEnd(14)} ${f.help}${f.env ? ` [${f.env}]` : ''}`).join('\n');
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
