import { describe, expect, it } from 'vitest';
import { errorBody, prefersHtml } from './error-body.js';

const CHROME =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const SAFARI = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('prefersHtml', () => {
  it.each([
    ['Chrome navigation', CHROME],
    ['Firefox navigation', FIREFOX],
    ['Safari navigation', SAFARI],
    ['plain text/html', 'text/html'],
    ['upper case', 'TEXT/HTML'],
    ['html with parameters', 'text/html;charset=utf-8;level=1'],
    ['html tied with json', 'application/json;q=0.9, text/html;q=0.9'],
    ['html above json', 'application/json;q=0.5, text/html'],
    ['html above problem+json', 'application/problem+json;q=0.8, text/html;q=0.9'],
    ['space before the weight', 'text/html ;q=0.9, application/json;q=0.5'],
  ])('is true for %s', (_name, accept) => {
    expect(prefersHtml(accept)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['empty', ''],
    ['curl', '*/*'],
    ['fetch default', '*/*'],
    ['image request', 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8'],
    ['text/* only', 'text/*'],
    ['JSON client', 'application/json'],
    ['problem+json client', 'application/problem+json'],
    ['JSON first', 'application/json, text/html;q=0.9'],
    ['problem+json above html', 'application/problem+json, text/html;q=0.5'],
    ['html refused', 'text/html;q=0, */*'],
    ['html refused with decimals', 'text/html;q=0.000'],
    ['xhtml only', 'application/xhtml+xml'],
  ])('is false for %s', (_name, accept) => {
    expect(prefersHtml(accept)).toBe(false);
  });
});

describe('errorBody', () => {
  it('gives a problem+json body by default', () => {
    const r = errorBody(undefined, 404, 'Not Found', '/a.txt is not in version 3');
    expect(r.type).toBe('application/problem+json');
    expect(JSON.parse(r.body)).toStrictEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: '/a.txt is not in version 3',
    });
  });

  it('keeps JSON for curl and JSON clients, with hostile text left to JSON quoting', () => {
    const detail = 'bad path: <script>alert("x")</script>';
    for (const accept of ['*/*', 'application/json']) {
      const r = errorBody(accept, 400, 'Bad Request', detail);
      expect(r.type).toBe('application/problem+json');
      expect(JSON.parse(r.body).detail).toBe(detail);
    }
  });

  it('gives a small HTML page to a browser', () => {
    const r = errorBody(CHROME, 404, 'Not Found', '/a/ has no index.html');
    expect(r.type).toBe('text/html; charset=utf-8');
    expect(r.body).toBe(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>404 Not Found</title></head>' +
        '<body><h1>404 Not Found</h1><p>/a/ has no index.html</p></body></html>\n',
    );
  });

  it('escapes markup in the detail and title of the HTML page', () => {
    const r = errorBody(FIREFOX, 400, 'Bad <b>Request</b>', `bad path: /<script>alert("x&y")</script>/'q'`);
    expect(r.body).not.toContain('<script>');
    expect(r.body).not.toContain('<b>');
    expect(r.body).toContain(
      '<p>bad path: /&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;/&#39;q&#39;</p>',
    );
    expect(r.body).toContain('<title>400 Bad &lt;b&gt;Request&lt;/b&gt;</title>');
    expect(r.body).toContain('<h1>400 Bad &lt;b&gt;Request&lt;/b&gt;</h1>');
  });
});
