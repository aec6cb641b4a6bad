import { describe, expect, it } from 'vitest';
import { contentTypeFor } from './content-type.js';

describe('contentTypeFor', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['docs/readme.txt', 'text/plain; charset=utf-8'],
    ['style.css', 'text/css; charset=utf-8'],
    ['notes.md', 'text/markdown; charset=utf-8'],
    ['data.csv', 'text/csv; charset=utf-8'],
    ['app.js', 'text/javascript; charset=utf-8'],
    ['data.json', 'application/json; charset=utf-8'],
    ['feed.xml', 'application/xml; charset=utf-8'],
    ['site.webmanifest', 'application/manifest+json; charset=utf-8'],
    ['feed.atom', 'application/atom+xml; charset=utf-8'],
    ['data.jsonld', 'application/ld+json; charset=utf-8'],
    ['INDEX.HTML', 'text/html; charset=utf-8'],
    // Where the database's type breaks the file in a browser (see OVERRIDES).
    ['lib/index.cjs', 'text/javascript; charset=utf-8'],
    ['src/MAIN.RS', 'text/plain; charset=utf-8'],
  ])('gives %s a textual type with charset', (path, type) => {
    expect(contentTypeFor(path)).toBe(type);
  });

  it.each([
    ['logo.png', 'image/png'],
    ['a/b/LOGO.PNG', 'image/png'],
    ['policy.pdf', 'application/pdf'],
    ['module.wasm', 'application/wasm'],
    ['backup.tar.gz', 'application/gzip'],
    ['report.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ])('gives %s a binary type without charset', (path, type) => {
    expect(contentTypeFor(path)).toBe(type);
  });

  it.each(['Makefile', 'dir.d/LICENSE', 'file.unknownext', '.htaccess', 'a.rs/Makefile'])(
    'falls back to application/octet-stream for %s',
    (path) => {
      expect(contentTypeFor(path)).toBe('application/octet-stream');
    },
  );
});
