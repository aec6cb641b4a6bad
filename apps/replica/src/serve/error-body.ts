/** A small error body: JSON problem by default, HTML for a browser that asks for a page. */
export function errorBody(
  accept: string | undefined,
  status: number,
  title: string,
  detail: string,
): { type: string; body: string } {
  if (prefersHtml(accept)) {
    const esc = (s: string) =>
      s.replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
      );
    return {
      type: 'text/html; charset=utf-8',
      body:
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status} ${esc(title)}</title></head>` +
        `<body><h1>${status} ${esc(title)}</h1><p>${esc(detail)}</p></body></html>\n`,
    };
  }
  return {
    type: 'application/problem+json',
    body: JSON.stringify({ type: 'about:blank', title, status, detail }),
  };
}

/** True when text/html is acceptable and not less preferred than JSON. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const q = (type: string) => {
    for (const part of accept.toLowerCase().split(',')) {
      const [t, ...params] = part.trim().split(';');
      if (t?.trim() !== type) continue;
      const m = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)).find(Boolean);
      return m ? Number(m[1]) : 1;
    }
    return 0;
  };
  const html = q('text/html');
  return html > 0 && html >= Math.max(q('application/json'), q('application/problem+json'));
}
