/** What a master URL that names a path under `/_outpost/` is told to be instead. */
export const MASTER_URL_FORM =
  "give the master's URL without /_outpost/… (the API path is added to it), e.g. http://hq.example.com:7070 or, behind a proxy, https://hq.example.com/outpost";

/**
 * A master URL's path with a pasted admin base path (`/_outpost`, `/_outpost/api/v1`, and
 * trailing slashes) taken off, or null when another path under `/_outpost/` is left (the
 * dashboard's): users paste it from a browser or the docs, and it used to be doubled into a
 * 404. `_outpost` is reserved (never published), so no proxy prefix ends so.
 */
export function withoutAdminBase(pathname: string): string | null {
  const base = /^(.*?)\/_outpost(?:\/api\/v1)?\/*$/.exec(pathname);
  const path = base ? base[1] || '/' : pathname;
  return /\/_outpost(?:\/|$)/.test(path) ? null : path;
}
