import type { MasterStatus } from '@outpost/protocol';
import { escapeHtml } from '@outpost/service';
import { describe, expect, it } from 'vitest';
import { renderDashboard } from './render-dashboard.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const ROOT = 'ab'.repeat(32);

function status(extra: Partial<MasterStatus> = {}): MasterStatus {
  return {
    role: 'master',
    version: 12,
    root: ROOT,
    files: 1843,
    bytes: 73_400_320,
    replicas: [],
    ready: true,
    publishing: null,
    publishFailure: null,
    problems: [],
    ...extra,
  };
}

const replica = (
  name: string,
  state: MasterStatus['replicas'][number]['state'],
  error: string | null = null,
) => ({
  name,
  region: 'uk',
  connected: state !== 'offline',
  link: state === 'offline' ? ('offline' as const) : ('push' as const),
  version: 12,
  root: ROOT,
  lagVersions: 0,
  lastSeenAt: new Date(NOW - 3000).toISOString(),
  state,
  error,
  advertise: null,
});

describe('renderDashboard', () => {
  it('shows the version, each replica with its state, and counts them', () => {
    const html = renderDashboard(
      {
        status: status({ replicas: [replica('uk-london', 'in-sync'), replica('asia-tokyo', 'offline')] }),
        versions: [
          { version: 12, root: ROOT, createdAt: new Date(NOW - 90_000).toISOString(), files: 1843, bytes: 1 },
        ],
        dns: null,
      },
      NOW,
    );
    expect(html).toContain('<h1>Version 12</h1>');
    expect(html).toContain('70.0 MiB');
    expect(html).toContain('1 in-sync, 1 offline');
    expect(html).toMatch(/<tr class="state-in-sync">\s*<td>uk-london<\/td>/);
    expect(html).toContain('<td>3s ago</td>');
    expect(html).toContain('<td>1m ago</td>');
    expect(html).not.toContain('DNS (');
    expect(html).not.toContain('Not published');
    expect(html).not.toContain('Putting watches in place');
  });

  it('says when a ready master is still putting its watches in place', () => {
    const html = renderDashboard({ status: status({ watching: false }), versions: [], dns: null }, NOW);
    expect(html).toContain('Putting watches in place: an edit made now is published once they are.');
  });

  it('escapes every name, path and error: what a replica or a file name says is never markup', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const html = renderDashboard(
      {
        status: status({
          replicas: [replica('uk-london', 'error', `boom ${evil}`)],
          problems: [{ path: `dir/${evil}\n.txt`, problem: `control character ${evil}` }],
          publishFailure: {
            message: evil,
            at: new Date(NOW).toISOString(),
            retryAt: new Date(NOW + 5000).toISOString(),
          },
          warnings: [`3 directories are not watched ${evil}`],
        }),
        versions: [],
        dns: {
          zone: 'corp.example',
          replicas: [
            {
              name: 'uk-london',
              region: 'uk',
              address: null,
              in: false,
              reason: evil,
              weight: 1,
              load: null,
            },
          ],
        },
      },
      NOW,
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    // A path is shown as JSON quotes it: a newline in a name is seen, not lost in the markup.
    expect(html).toContain('<code>&#34;dir/&#60;img src=x onerror=alert(1)&#62;\\n.txt&#34;</code>');
    expect(html).toContain('Publishing fails: &#60;img');
    expect(html).toContain('(next try in 5s)');
    expect(html).toContain('<p class="alert">3 directories are not watched &#60;img');
    expect(html).toContain('<th>DNS (corp.example)</th>');
  });

  it('lists a hundred problems and counts the rest', () => {
    const problems = Array.from({ length: 130 }, (_, i) => ({ path: `p${i}`, problem: 'backslash' }));
    const html = renderDashboard({ status: status({ problems }), versions: [], dns: null }, NOW);
    expect(html).toContain('Not published <small>130 paths</small>');
    expect(html.match(/<li>/g)).toHaveLength(100);
    expect(html).toContain('and 30 more');
  });

  it('escapes the five characters HTML gives meaning to', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });
});
