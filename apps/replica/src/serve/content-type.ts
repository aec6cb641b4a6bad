import mime from 'mime';

const TEXTUAL = /^(?:text\/|application\/(?:json|javascript|xml|[a-z.+-]+\+(?:json|xml))$)/;

/**
 * Extensions the mime database gives a type that breaks what browsers do with such files,
 * served with `nosniff`: `.cjs` (CommonJS) as `application/node`, which a browser refuses to
 * run as a script; `.rs` (Rust source) as `application/rls-services+xml`, shown as an XML
 * parse error. Kept to cases like these, where the database's type is plainly not the file's.
 */
const OVERRIDES: Record<string, string> = {
  cjs: 'text/javascript',
  rs: 'text/plain',
};

/** The Content-Type to serve a path with, from the mime database; text gets charset=utf-8. */
export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  const override = dot > slash + 1 ? OVERRIDES[path.slice(dot + 1).toLowerCase()] : undefined;
  const type = override ?? mime.getType(path) ?? 'application/octet-stream';
  return TEXTUAL.test(type) ? `${type}; charset=utf-8` : type;
}
