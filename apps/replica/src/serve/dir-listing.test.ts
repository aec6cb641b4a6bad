import { sha256Hex, type TreeEntry } from '@outpost/core';
import { describe, expect, it, vi } from 'vitest';
import { listDirectory, renderListing } from './dir-listing.js';
import { makeSnapshot, snapshotOf } from './snapshot.js';

const T0 = Date.UTC(2024, 1, 29, 13, 45, 7, 999);

const entry = (path: string, size: number, mtime = T0): TreeEntry => ({
  path,
  size,
  hash: sha256Hex(path),
  mtime,
  chunks: size === 0 ? [] : [{ hash: sha256Hex(path), size }],
});

const snapshotWith = (...entries: TreeEntry[]) => makeSnapshot(3, entries);

const file = (name: string, size: number, mtime = T0) => ({ name, dir: false, size, mtime });
const dir = (name: string) => ({ name, dir: true });

describe('listDirectory', () => {
  const snap = snapshotWith(
    entry('index.txt', 1),
    entry('zeta.txt', 26, T0 + 1000),
    entry('Alpha.txt', 5),
    entry('docs/guide/intro.md', 100),
    entry('docs/guide/setup.md', 200),
    entry('docs/readme.md', 10),
    entry('docs/api/v1/index.json', 7),
    entry('assets/a.png', 1000),
    entry('b/only/deep/file.bin', 0),
  );

  it('lists the root: directories first, then files, each by name', () => {
    expect(listDirectory(snap, '')).toStrictEqual([
      dir('assets'),
      dir('b'),
      dir('docs'),
      file('Alpha.txt', 5),
      file('index.txt', 1),
      file('zeta.txt', 26, T0 + 1000),
    ]);
  });

  it('lists only the immediate children of a directory', () => {
    expect(listDirectory(snap, 'docs')).toStrictEqual([dir('api'), dir('guide'), file('readme.md', 10)]);
    expect(listDirectory(snap, 'docs/guide')).toStrictEqual([file('intro.md', 100), file('setup.md', 200)]);
    expect(listDirectory(snap, 'docs/api')).toStrictEqual([dir('v1')]);
    expect(listDirectory(snap, 'docs/api/v1')).toStrictEqual([file('index.json', 7)]);
  });

  it('lists each subdirectory once however many files lie under it', () => {
    expect(listDirectory(snap, 'b')).toStrictEqual([dir('only')]);
    expect(listDirectory(snap, 'b/only')).toStrictEqual([dir('deep')]);
    expect(listDirectory(snap, 'b/only/deep')).toStrictEqual([file('file.bin', 0)]);
  });

  it('knows every directory of the snapshot and no others', () => {
    for (const d of snap.dirs.keys()) expect(listDirectory(snap, d)).toBeDefined();
    for (const d of ['nope', 'docs/', '/docs', 'docs/guide/intro.md', 'index.txt', 'Docs', 'doc'])
      expect(listDirectory(snap, d)).toBeUndefined();
  });

  it('sorts names by code unit, upper case before lower case', () => {
    const s = snapshotWith(
      entry('b', 1),
      entry('B', 1),
      entry('a', 1),
      entry('_', 1),
      entry('A/x', 1),
      entry('1', 1),
    );
    expect(listDirectory(s, '')!.map((i) => i.name)).toEqual(['A', '1', 'B', '_', 'a', 'b']);
  });

  it('builds the index once per snapshot and reuses it', () => {
    const s = makeSnapshot(1, [entry('a/b.txt', 1), entry('c.txt', 2)]);
    const values = vi.spyOn(s.tree as Map<string, TreeEntry>, 'values');
    const first = listDirectory(s, '');
    expect(listDirectory(s, '')).toBe(first);
    expect(listDirectory(s, 'a')).toStrictEqual([file('b.txt', 1)]);
    expect(listDirectory(s, 'missing')).toBeUndefined();
    expect(values).toHaveBeenCalledTimes(1);

    // The next snapshot of the same live tree gets its own index.
    const s2 = snapshotOf(2, s.live);
    values.mockClear();
    const second = listDirectory(s2, '');
    expect(values).toHaveBeenCalledTimes(1);
    expect(second).not.toBe(first);
    expect(second).toStrictEqual(first);
  });

  it('reflects each snapshot, not a previous one', () => {
    const a = snapshotWith(entry('x.txt', 1));
    const b = snapshotWith(entry('y.txt', 2));
    expect(listDirectory(a, '')).toStrictEqual([file('x.txt', 1)]);
    expect(listDirectory(b, '')).toStrictEqual([file('y.txt', 2)]);
  });
});

describe('renderListing', () => {
  it('renders a root listing without a parent link', () => {
    const html = renderListing('', [dir('docs'), file('a.txt', 12)], 9);
    expect(html).toBe(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Index of /</title></head>' +
        '<body><h1>Index of /</h1><p>version 9</p><table>\n' +
        '<tr><th>name</th><th>size</th><th>modified (UTC)</th></tr>\n' +
        '<tr><td><a href="docs/">docs/</a></td><td>-</td><td></td></tr>\n' +
        '<tr><td><a href="a.txt">a.txt</a></td><td>12</td><td>2024-02-29 13:45:07</td></tr>\n' +
        '</table></body></html>\n',
    );
  });

  it('renders a subdirectory with a parent link and a trailing slash in the title', () => {
    const html = renderListing('docs/guide', [file('intro.md', 100)], 4);
    expect(html).toContain('<title>Index of /docs/guide/</title>');
    expect(html).toContain('<h1>Index of /docs/guide/</h1>');
    expect(html).toContain('<p>version 4</p>');
    expect(html).toContain(
      '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n<tr><td><a href="intro.md">intro.md</a>',
    );
  });

  it('escapes names in text and URL-encodes them in hrefs', () => {
    const html = renderListing(
      'a<b>',
      [
        dir('my dir'),
        file('<script>alert(1)</script>.txt', 1),
        file('a&b "q".txt', 2),
        file('100%#?.txt', 3),
        file('über.txt', 4),
      ],
      1,
    );
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).toContain('<title>Index of /a&lt;b&gt;/</title>');
    expect(html).toContain('<a href="my%20dir/">my dir/</a>');
    expect(html).toContain(
      '<a href="%3Cscript%3Ealert(1)%3C%2Fscript%3E.txt">&lt;script&gt;alert(1)&lt;/script&gt;.txt</a>',
    );
    expect(html).toContain('<a href="a%26b%20%22q%22.txt">a&amp;b &quot;q&quot;.txt</a>');
    expect(html).toContain('<a href="100%25%23%3F.txt">100%#?.txt</a>');
    expect(html).toContain('<a href="%C3%BCber.txt">über.txt</a>');
  });

  it('leaves the time cell empty when a file has no mtime', () => {
    const html = renderListing('', [{ name: 'x', dir: false, size: 0 }], 1);
    expect(html).toContain('<tr><td><a href="x">x</a></td><td>0</td><td></td></tr>');
  });

  it('renders an empty directory as a table with only its header', () => {
    const html = renderListing('empty', [], 2);
    expect(html).toContain(
      '<tr><th>name</th><th>size</th><th>modified (UTC)</th></tr>\n<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n\n</table>',
    );
  });

  it('renders what listDirectory gives for a snapshot', () => {
    const snap = snapshotWith(entry('site/css/main.css', 300), entry('site/index.html', 50));
    const html = renderListing('site', listDirectory(snap, 'site')!, snap.version);
    const rows = html.split('\n').filter((l) => l.startsWith('<tr><td>'));
    expect(rows).toEqual([
      '<tr><td><a href="../">../</a></td><td></td><td></td></tr>',
      '<tr><td><a href="css/">css/</a></td><td>-</td><td></td></tr>',
      '<tr><td><a href="index.html">index.html</a></td><td>50</td><td>2024-02-29 13:45:07</td></tr>',
    ]);
    expect(html).toContain('<p>version 3</p>');
  });
});
