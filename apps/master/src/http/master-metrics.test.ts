import { readFileSync } from 'node:fs';
import { createMetricsRegistry } from '@outpost/service';
import { describe, expect, it } from 'vitest';
import { registerMasterMetrics } from './master-metrics.js';

/** The README's Metrics section: a table row names a metric in full, or by its suffix after one. */
function documentedMetrics(): string {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Metrics');
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

function isDocumented(section: string, name: string): boolean {
  if (section.includes(`\`${name}\``) || section.includes(`\`${name}{`)) return true;
  // `outpost_master_version`, `_files`: a suffix in a row whose first name shares the prefix.
  const prefix = name.split('_').slice(0, 2).join('_');
  return section
    .split('\n')
    .some(
      (row) =>
        row.startsWith(`| \`${prefix}_`) &&
        [...row.matchAll(/`(_[a-z_]+)[`{]/g)].some((m) => name.endsWith(m[1]!)),
    );
}

describe('master metrics', () => {
  it('are each in the README table', () => {
    const registry = createMetricsRegistry({ service: 'master' });
    const unused = () => {
      throw new Error('not scraped');
    };
    registerMasterMetrics(registry, {
      status: unused,
      dnsCounters: unused,
      storeCounters: unused,
      storeFootprint: unused,
    });
    const names = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => n.startsWith('outpost_'));
    expect(names).toContain('outpost_master_warnings');
    const section = documentedMetrics();
    expect(names.filter((n) => !isDocumented(section, n))).toEqual([]);
  });
});
