import { formatBytes } from '@outpost/core';
import type { ReplicaStatus } from '@outpost/protocol';
import { escapeHtml as e, span, when } from '@outpost/service';

/** What the replica's status page shows beyond its status: what it served and mended. */
export interface ReplicaCounters {
  requests: number;
  openConnections: number;
  damagedFound: number;
  damagedRepaired: number;
  scrubbed: number;
}

/** The replica's status page `<main>`, for an admin at the regional office (the master's shows the fleet). */
export function renderReplicaPage(s: ReplicaStatus, c: ReplicaCounters, now = Date.now()): string {
  const lag = s.masterVersion === null ? 'not heard yet' : String(Math.max(0, s.masterVersion - s.version));
  const notes: string[] = [];
  if (s.error) notes.push(`<p class="alert">${e(s.error)}</p>`);
  const a = s.applying;
  if (a) {
    const eta =
      a.etaSeconds === null || a.etaSeconds === undefined ? '' : `, about ${span(a.etaSeconds * 1000)} left`;
    notes.push(
      `<p class="note">Applying version ${a.version}: ${a.filesDone} of ${a.filesTotal} files, ${formatBytes(a.bytesDone)} of ${formatBytes(a.bytesTotal)}${eta}.</p>`,
    );
  }
  const ahead = s.fetchingAhead;
  if (ahead) {
    const queued = ahead.queued > 0 ? `; ${ahead.queued} more chunks to fetch` : '';
    notes.push(
      `<p class="note">Fetching ahead of version ${ahead.version}, which the master is still reading: ${formatBytes(ahead.bytes)} in ${ahead.chunks} chunks so far${queued}.</p>`,
    );
  }
  return `<main data-rendered-at="${new Date(now).toISOString()}">
<section class="master">
<h1>Version ${s.version} <span class="state-${s.state}"><span class="badge">${s.state}</span></span></h1>
<dl>
<dt>root</dt><dd><code title="${e(s.root)}">${e(s.root.slice(0, 12))}</code></dd>
<dt>files</dt><dd>${s.files}</dd>
<dt>size</dt><dd>${formatBytes(s.bytes)}</dd>
<dt>link</dt><dd>${s.link}</dd>
<dt>master's version</dt><dd>${s.masterVersion ?? 'not heard yet'}</dd>
<dt>lag</dt><dd>${lag}</dd>
<dt>last applied</dt><dd>${s.lastSyncAt ? e(when(Date.parse(s.lastSyncAt), now)) : 'never'}</dd>
</dl>
${notes.join('\n')}
</section>
<section>
<h2>Since it started</h2>
<dl>
<dt>requests</dt><dd>${c.requests}</dd>
<dt>connections open</dt><dd>${c.openConnections}</dd>
<dt>damaged chunks found</dt><dd>${c.damagedFound}</dd>
<dt>repaired</dt><dd>${c.damagedRepaired}</dd>
<dt>chunks scrubbed</dt><dd>${c.scrubbed}</dd>
</dl>
</section>
</main>`;
}
