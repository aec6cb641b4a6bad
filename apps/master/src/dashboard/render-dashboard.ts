import { formatBytes } from '@outpost/core';
import type { DnsReplica, FleetReplica, MasterStatus, VersionSummary } from '@outpost/protocol';
import { escapeHtml, span, when } from '@outpost/service';

/** What the dashboard shows: the master's status, its newest versions, and DNS when it serves a zone. */
export interface DashboardView {
  status: MasterStatus;
  versions: VersionSummary[];
  dns: { zone: string; replicas: DnsReplica[] } | null;
}

/** Problems listed by name; the rest are counted (the JSON status has them all). */
const PROBLEMS_SHOWN = 100;
/** Versions listed, newest first. */
const VERSIONS_SHOWN = 10;

const e = escapeHtml;

/** The dashboard's `<main>`: the whole page's changing part, rendered on the master. */
export function renderDashboard(v: DashboardView, now = Date.now()): string {
  return `<main data-rendered-at="${new Date(now).toISOString()}">
${masterSection(v.status, now)}
${replicasSection(v.status.replicas, v.dns, now)}
${problemsSection(v.status.problems, v.status.problemCount)}
${versionsSection(v.versions, now)}
</main>`;
}

function masterSection(s: MasterStatus, now: number): string {
  const lines: string[] = [];
  if (s.ready === false) lines.push(`<p class="note">Starting: reconciling the content directory.</p>`);
  else if (s.watching === false)
    lines.push(`<p class="note">Putting watches in place: an edit made now is published once they are.</p>`);
  if (s.publishing) {
    const p = s.publishing;
    lines.push(
      `<p class="note">Publishing: ${p.filesDone} of ${p.filesTotal} files examined, for ${span(now - Date.parse(p.since))}.</p>`,
    );
  }
  for (const w of s.warnings ?? []) lines.push(`<p class="alert">${e(w)}</p>`);
  if (s.publishFailure) {
    const f = s.publishFailure;
    lines.push(
      `<p class="alert">Publishing fails: ${e(f.message)} (next try ${when(Date.parse(f.retryAt), now)}).</p>`,
    );
  }
  return `<section class="master">
<h1>Version ${s.version}</h1>
<dl>
<dt>root</dt><dd><code title="${e(s.root)}">${e(s.root.slice(0, 12))}</code></dd>
<dt>files</dt><dd>${s.files}</dd>
<dt>size</dt><dd>${formatBytes(s.bytes)}</dd>
</dl>
${lines.join('\n')}
</section>`;
}

function replicasSection(replicas: FleetReplica[], dns: DashboardView['dns'], now: number): string {
  const counts = new Map<string, number>();
  for (const r of replicas) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  const inDns = new Map(dns?.replicas.map((d) => [d.name, d]) ?? []);
  const rows = replicas.map((r) => {
    const d = inDns.get(r.name);
    const dnsCell = dns
      ? `<td>${d ? (d.in ? `in${d.address ? ` <code>${e(d.address)}</code>` : ''}` : `<span class="muted">out: ${e(d.reason)}</span>`) : ''}</td>`
      : '';
    return `<tr class="state-${r.state}">
<td>${e(r.name)}</td><td>${e(r.region)}</td><td><span class="badge">${r.state}</span></td><td>${r.link}</td>
<td>${r.version}</td><td>${r.lagVersions}</td><td>${r.lastSeenAt ? e(when(Date.parse(r.lastSeenAt), now)) : 'never'}</td>${dnsCell}
<td class="error">${r.error ? e(r.error) : ''}</td>
</tr>`;
  });
  const dnsHead = dns ? `<th>DNS (${e(dns.zone)})</th>` : '';
  return `<section class="replicas">
<h2>Replicas <small>${replicas.length === 0 ? 'none has connected yet' : e(summary)}</small></h2>
<div class="wide"><table>
<thead><tr><th>name</th><th>region</th><th>state</th><th>link</th><th>version</th><th>lag</th><th>last seen</th>${dnsHead}<th>error</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
</section>`;
}

function problemsSection(problems: MasterStatus['problems'] = [], count = problems.length): string {
  if (count === 0) return '';
  const shown = problems
    .slice(0, PROBLEMS_SHOWN)
    .map((p) => `<li><code>${e(JSON.stringify(p.path))}</code>: ${e(p.problem)}</li>`);
  const more =
    count > shown.length
      ? `<p class="muted">and ${count - shown.length} more: <code>outpost status --json</code> lists them all.</p>`
      : '';
  return `<section class="problems">
<h2>Not published <small>${count} ${count === 1 ? 'path' : 'paths'}</small></h2>
<ul>
${shown.join('\n')}
</ul>
${more}
</section>`;
}

function versionsSection(versions: VersionSummary[], now: number): string {
  const rows = versions
    .slice(0, VERSIONS_SHOWN)
    .map(
      (v) =>
        `<tr><td>${v.version}</td><td>${e(when(Date.parse(v.createdAt), now))}</td><td>${v.files}</td><td>${formatBytes(v.bytes)}</td><td><code title="${e(v.root)}">${e(v.root.slice(0, 12))}</code></td></tr>`,
    );
  return `<section class="versions">
<h2>Versions kept <small>${versions.length}${versions.length > VERSIONS_SHOWN ? `, the newest ${VERSIONS_SHOWN} shown` : ''}</small></h2>
<div class="wide"><table>
<thead><tr><th>version</th><th>published</th><th>files</th><th>size</th><th>root</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
</section>`;
}
