import { describe, expect, it } from 'vitest';
import { LinkIndex } from './link-index.js';

describe('LinkIndex', () => {
  it('names the links whose target changed, or lies under a changed path', () => {
    const links = new LinkIndex();
    links.set('latest.tgz', 'pkg/v2/tool.tgz');
    links.set('docs/current', 'docs/v7/index.html');
    links.set('other', 'pkgs/x');
    expect(links.dependents(['pkg/v2/tool.tgz'])).toEqual(['latest.tgz']);
    expect(links.dependents(['pkg'])).toEqual(['latest.tgz']);
    expect(links.dependents(['pkg/v2', 'docs/v7/index.html'])).toEqual(['latest.tgz', 'docs/current']);
    // A sibling with a common prefix is not an ancestor.
    expect(links.dependents(['pkg/v'])).toEqual([]);
    // A link already named is not named twice.
    expect(links.dependents(['latest.tgz', 'pkg'])).toEqual([]);
  });

  it('forgets a dropped link, and a link set again follows its new target', () => {
    const links = new LinkIndex();
    links.set('a', 't1');
    links.set('a', 't2');
    expect(links.dependents(['t1'])).toEqual([]);
    expect(links.dependents(['t2'])).toEqual(['a']);
    links.drop('a');
    expect(links.size).toBe(0);
    expect(links.dependents(['t2'])).toEqual([]);
  });
});
