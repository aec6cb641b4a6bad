import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '@outpost/protocol';
import { parseReplicaTokens } from './replica-tokens.js';

/** A --replica-tokens file read: token → replica, and whether others than its owner may read it. */
export interface ReplicaTokensFile {
  tokens: Map<string, string>;
  /** The file's mode lets its group or everyone read it (ssh refuses such a key; this warns). */
  readableByOthers: boolean;
}

/** Reads and checks a --replica-tokens file; a ConfigError names what is wrong with it. */
export function readReplicaTokensFile(
  file: string,
  shared: readonly (string | undefined)[],
): ReplicaTokensFile {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode;
  } catch (err) {
    throw new ConfigError(
      `--replica-tokens ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return { tokens: parseReplicaTokens(text, file, shared), readableByOthers: (mode & 0o044) !== 0 };
}
