import type { DnsStatus, MasterStatus, VersionSummary } from '@outpost/protocol';

/** States that make `outpost status` exit non-zero. */
export const UNHEALTHY = new Set(['behind', 'offline', 'error']);

/**
 * A cell as the terminal should show it: control characters (a replica's advertised address or
 * NACK reason may hold any) as `\xHH`, so none can add a line or drive the terminal.
 */
const printable = (cell: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what is escaped
  cell.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** Lays rows out as aligned columns (the last column is not padded). */
function columns(cells: string[][]): string {
  const rows = cells.map((row) => row.map(printable));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Renders the kept versions, newest first. */
export function renderVersions(list: VersionSummary[]): string {
  if (list.length === 0) return '(no version published yet)';
  return columns([
    ['VERSION', 'CREATED', 'FILES', 'BYTES', 'ROOT'],
    ...list.map((v) => [
      String(v.version),
      v.createdAt,
      String(v.files),
      String(v.bytes),
      v.root.slice(0, 12),
    ]),
  ]);
}

/** Renders the fleet as an aligned text table. */
export function renderStatus(s: MasterStatus, now = Date.now()): string {
  let head = `master: version ${s.version}  root ${s.root.slice(0, 12)}  files ${s.files}  bytes ${s.bytes}`;
  if (s.ready === false) head += '  (starting: reconciling the content directory)';
  else if (s.watching === false)
    head += '  (putting watches in place: an edit now is published once they are)';
  if (s.publishing) {
    const p = s.publishing;
    head += `\npublishing: ${p.filesDone} of ${p.filesTotal} files examined, for ${ago(now - Date.parse(p.since)).replace(/ ago$/, '')}`;
  }
  if (s.publishFailure) {
    const f = s.publishFailure;
    const next = Math.max(0, Date.parse(f.retryAt) - now);
    head += `\npublish FAILING: ${f.message} (${ago(now - Date.parse(f.at))}; next attempt in ${ago(next).replace(/ ago$/, '')})`;
  }
  for (const w of s.warnings ?? []) head += `\nWARNING: ${w}`;
  if (s.exclude && s.exclude.length > 0)
    head += `\nleft out (--exclude): ${s.exclude.map((p) => JSON.stringify(p)).join(' ')}`;
  head += refusedPaths(s.problems ?? [], s.problemCount);
  if (s.replicas.length === 0) return `${head}\n(no replica has connected yet)`;
  const rows = [
    ['NAME', 'REGION', 'STATE', 'LINK', 'VERSION', 'LAG', 'LAST SEEN', 'ERROR'],
    ...s.replicas.map((r) => [
      r.name,
      r.region,
      r.state,
      r.link,
      String(r.version),
      String(r.lagVersions),
      r.lastSeenAt ? ago(now - Date.parse(r.lastSeenAt)) : 'never',
      r.error ?? '',
    ]),
  ];
  return `${head}\n${columns(rows)}`;
}

/** Renders the DNS section: what each name answers now, and each replica in or out and why. */
export function renderDns(d: DnsStatus): string {
  const listen = d.listen.udp ? `  on ${d.listen.udp} (udp, tcp)` : '';
  const head = `dns: zone ${d.zone}  mode ${d.mode}  ttl ${d.ttl}s  max lag ${d.maxLag}${listen}`;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const names = columns([
    ['NAME', 'ANSWERS', 'VIA'],
    ...d.names.map((n) => [
      n.name,
      n.answers.length === 0
        ? '(none)'
        : n.answers
            .map((a) => (n.answers.length > 1 ? `${a.address} ${pct(a.share)}` : a.address))
            .join(', '),
      n.via,
    ]),
  ]);
  if (d.replicas.length === 0) return `${head}\n${names}`;
  const replicas = columns([
    ['REPLICA', 'REGION', 'DNS', 'ADDRESS', 'WEIGHT', 'WHY'],
    ...d.replicas.map((r) => [
      r.name,
      r.region,
      r.in ? 'in' : 'out',
      r.address ?? '-',
      r.in ? String(r.weight) : '-',
      r.reason,
    ]),
  ]);
  return `${head}\n${names}\n\n${replicas}`;
}

/** Paths listed after the head, at most; `--json` has them all. */
const PROBLEMS_SHOWN = 10;

/** The paths the master does not publish, and why: quoted as JSON, since a name may hold a newline. */
function refusedPaths(problems: NonNullable<MasterStatus['problems']>, count = problems.length): string {
  if (count === 0) return '';
  const lines = problems.slice(0, PROBLEMS_SHOWN).map((p) => `\n  ${JSON.stringify(p.path)}: ${p.problem}`);
  const more = count > lines.length ? `\n  … and ${count - lines.length} more (--json lists them all)` : '';
  return `\nnot published: ${count} path${count === 1 ? '' : 's'}${lines.join('')}${more}`;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}
