import mime from 'mime';

const TEXTUAL = /^(?:text\/|application\/(?:json|javascript|xml|[a-z.+-]+\+(?:json|xml))$)/;

/** The Content-Type to serve a path with, from the mime database; text gets charset=utf-8. */
export function contentTypeFor(path: string): string {
  const type = mime.getType(path) ?? 'application/octet-stream';
  return TEXTUAL.test(type) ? `${type}; charset=utf-8` : type;
}
