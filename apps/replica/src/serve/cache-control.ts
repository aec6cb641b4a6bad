import { ConfigError } from '@outpost/protocol';

/** A Cache-Control value for the paths under a prefix. */
export interface CacheRule {
  prefix: string;
  value: string;
}

/** Content changes whenever HQ publishes: caches may keep it but must revalidate (by ETag). */
export const DEFAULT_CACHE_CONTROL = 'no-cache';

// A directive list: tokens, optionally =token or ="quoted", separated by commas (spaces and
// tabs around them: \s matched a CR or LF too).
const VALUE =
  /^[A-Za-z-]+(?:=(?:[A-Za-z0-9-]+|"[^"]*"))?(?:[ \t]*,[ \t]*[A-Za-z-]+(?:=(?:[A-Za-z0-9-]+|"[^"]*"))?)*$/;

// A control character other than a tab has no place in a rule: a CR or LF in a value made a
// header Node refuses, so every response on its paths failed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** A rule as an error message shows it: on one line, its control characters escaped. */
function shown(rule: string): string {
  return rule.replace(CONTROL, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * Reads rules written as `PREFIX=VALUE`, several separated by `;`, e.g.
 * `/static/=public, max-age=31536000, immutable;/=no-cache`. A malformed rule is a ConfigError
 * naming --cache-control (exit 2 and one line from the CLI, as other flags; a plain Error
 * printed a stack trace and exited 1, which a supervisor restarts for ever).
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
      // (A rule with a control character in it shows otherwise than it is.)
      if (!prefix.startsWith('/') || shown(rule) !== rule || !VALUE.test(value)) {
        throw new ConfigError(
          `--cache-control: bad cache rule '${shown(rule)}': want /PREFIX=DIRECTIVES, e.g. /static/=public, max-age=3600`,
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
