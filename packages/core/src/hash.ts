import { createHash, type Hash, hash } from 'node:crypto';

/** SHA-256 of the bytes, as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  // One-shot: no Hash object per call, which counts with a call per chunk.
  return hash('sha256', data, 'hex');
}

/** An incremental SHA-256, for content that arrives in pieces. */
export function createSha256(): Hash {
  return createHash('sha256');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** True when the string is a lowercase hex SHA-256. */
export function isSha256Hex(value: string): boolean {
  return HEX64.test(value);
}
