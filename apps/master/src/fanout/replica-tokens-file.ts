import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '@outpost/protocol';
import { parseReplicaTokens } from './replica-tokens.js';

/** What the system's codes for a file that cannot be read mean, in words (the code kept beside). */
const READ_PROBLEM: Record<string, string> = {
  ENOENT: 'no such file, ENOENT',
  EACCES: 'permission denied, EACCES',
  EISDIR: 'a directory, EISDIR',
};

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
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `--replica-tokens ${file}: ${code === undefined ? (err as Error).message : `cannot be read (${READ_PROBLEM[code] ?? code})`}`,
    );
  }
  return { tokens: parseReplicaTokens(text, file, shared), readableByOthers: (mode & 0o044) !== 0 };
}
