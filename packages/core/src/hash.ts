import { createHash, type Hash } from 'node:crypto';

/** SHA-256 of the bytes, as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
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
