import type { TreeEntry } from '@outpost/core';
import type { Snapshot } from './snapshot.js';

/** One line of a directory listing. */
export interface ListingItem {
  name: string;
  dir: boolean;
  size?: number;
  mtime?: number;
}

const byDir = new WeakMap<Snapshot, Map<string, ListingItem[]>>();

/** The immediate children of a directory of the snapshot, built once per snapshot. */
export function listDirectory(snap: Snapshot, dir: string): ListingItem[] | undefined {
  let index = byDir.get(snap);
  if (!index) {
    index = buildIndex(snap.tree.values());
    byDir.set(snap, index);
  }
  return index.get(dir);
}

function buildIndex(entries: Iterable<TreeEntry>): Map<string, ListingItem[]> {
  const index = new Map<string, Map<string, ListingItem>>();
  const add = (dir: string, item: ListingItem) => {
    let children = index.get(dir);
    if (!children) {
      children = new Map();
      index.set(dir, children);
    }
    if (!children.has(item.name)) children.set(item.name, item);
  };
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const last = i === parts.length - 1;
      add(
        dir,
        last ? { name: parts[i]!, dir: false, size: e.size, mtime: e.mtime } : { name: parts[i]!, dir: true },
      );
    }
  }
  const out = new Map<string, ListingItem[]>();
  for (const [dir, children] of index) {
    out.set(
      dir,
      [...children.values()].sort((a, b) => Number(b.dir) - Number(a.dir) || (a.name < b.name ? -1 : 1)),
    );
  }
  return out;
}

/** A plain HTML page listing a directory. */
export function renderListing(dir: string, items: ListingItem[], version: number): string {
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const title = `/${dir}${dir ? '/' : ''}`;
  const rows = items
    .map((i) => {
      const href = encodeURIComponent(i.name) + (i.dir ? '/' : '');
      const size = i.dir ? '-' : String(i.size);
      const when =
        i.mtime === undefined ? '' : new Date(i.mtime).toISOString().slice(0, 19).replace('T', ' ');
      return `<tr><td><a href="${href}">${esc(i.name)}${i.dir ? '/' : ''}</a></td><td>${size}</td><td>${when}</td></tr>`;
    })
    .join('\n');
  const up = dir ? '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n' : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Index of ${esc(title)}</title></head>` +
    `<body><h1>Index of ${esc(title)}</h1><p>version ${version}</p><table>\n` +
    `<tr><th>name</th><th>size</th><th>modified (UTC)</th></tr>\n${up}${rows}\n</table></body></html>\n`
  );
}
