import { ConfigError, Label } from '@outpost/protocol';

/** A token shorter than this is too easy to guess for one that opens the content to a network. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Reads a --replica-tokens file: one `NAME TOKEN` a line (blank lines and `#` comments
 * skipped), each replica's own replication token. Returns token → name. `shared`: the
 * OUTPOST_TOKEN values, which no replica's own token may repeat (it would then be any
 * replica's). `file` names the file in errors.
 */
export function parseReplicaTokens(
  text: string,
  file: string,
  shared: readonly (string | undefined)[] = [],
): Map<string, string> {
  const byToken = new Map<string, string>();
  const names = new Set<string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${file}, line ${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2)
      throw new ConfigError(`${at}: expected NAME TOKEN, found ${fields.length} fields`);
    const [name, token] = fields as [string, string];
    if (!Label.safeParse(name).success)
      throw new ConfigError(
        `${at}: '${name}' is no replica name (lowercase letters, digits and inner hyphens)`,
      );
    if (token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(`${at}: the token of ${name} is shorter than ${MIN_TOKEN_LENGTH} characters`);
    if (names.has(name)) throw new ConfigError(`${at}: ${name} is listed twice`);
    const other = byToken.get(token);
    if (other !== undefined) throw new ConfigError(`${at}: ${name} has the same token as ${other}`);
    if (shared.includes(token))
      throw new ConfigError(
        `${at}: the token of ${name} is OUTPOST_TOKEN's, which every replica may present`,
      );
    names.add(name);
    byToken.set(token, name);
  });
  return byToken;
}
