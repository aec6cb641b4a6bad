/** A Cache-Control value for the paths under a prefix. */
export interface CacheRule {
  prefix: string;
  value: string;
}

/** Content changes whenever HQ publishes: caches may keep it but must revalidate (by ETag). */
export const DEFAULT_CACHE_CONTROL = 'no-cache';

// A directive list: tokens, optionally =token or ="quoted", separated by commas.
const VALUE =
  /^[A-Za-z-]+(?:=(?:[A-Za-z0-9-]+|"[^"]*"))?(?:\s*,\s*[A-Za-z-]+(?:=(?:[A-Za-z0-9-]+|"[^"]*"))?)*$/;

/**
 * Reads rules written as `PREFIX=VALUE`, several separated by `;`, e.g.
 * `/static/=public, max-age=31536000, immutable;/=no-cache`. Throws on a malformed rule.
 */
export function parseCacheRules(spec: string | undefined): CacheRule[] {
  if (!spec) return [];
  return spec
    .split(';')
    .map((r) => r.trim())
    .filter((r) => r.length > 0)
    .map((rule) => {
      const eq = rule.indexOf('=');
      const prefix = eq > 0 ? rule.slice(0, eq).trim() : '';
      const value = eq > 0 ? rule.slice(eq + 1).trim() : '';
      if (!prefix.startsWith('/') || !VALUE.test(value)) {
        throw new Error(
          `bad cache rule '${rule}': want /PREFIX=DIRECTIVES, e.g. /static/=public, max-age=3600`,
        );
      }
      return { prefix, value };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The Cache-Control for a tree path (no leading slash): the longest matching prefix wins. */
export function cacheControlFor(rules: CacheRule[], path: string): string {
  const url = `/${path}`;
  for (const rule of rules) if (url.startsWith(rule.prefix)) return rule.value;
  return DEFAULT_CACHE_CONTROL;
}
