import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSha256, isSha256Hex, sha256Hex } from './hash.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('sha256Hex', () => {
  it('matches the standard test vectors', () => {
    expect(sha256Hex('')).toBe(EMPTY_SHA256);
    expect(sha256Hex(new Uint8Array(0))).toBe(EMPTY_SHA256);
    expect(sha256Hex('abc')).toBe(ABC_SHA256);
  });

  it('hashes strings as UTF-8 and gives the same answer for the same bytes', () => {
    const text = 'héllo wörld ✓ 😀';
    expect(sha256Hex(text)).toBe(sha256Hex(Buffer.from(text, 'utf8')));
    expect(sha256Hex(new Uint8Array(Buffer.from(text, 'utf8')))).toBe(sha256Hex(text));
  });

  it('hashes only the bytes a Uint8Array view covers', () => {
    const backing = Buffer.from('xxabcxx');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 3);
    expect(sha256Hex(view)).toBe(ABC_SHA256);
  });

  it('always gives 64 lowercase hex digits', () => {
    for (const input of ['', 'a', 'abc', 'x'.repeat(10_000)]) {
      const digest = sha256Hex(input);
      expect(digest).toMatch(/^[0-9a-f]{64}$/);
      expect(isSha256Hex(digest)).toBe(true);
    }
  });

  it('differs for different content', () => {
    expect(sha256Hex('abc')).not.toBe(sha256Hex('abd'));
    expect(sha256Hex('abc')).not.toBe(sha256Hex('abc\n'));
  });
});

describe('createSha256', () => {
  it('hashes content fed in pieces like the whole', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const hash = createSha256();
    for (let i = 0; i < data.length; i += 7) hash.update(data.subarray(i, i + 7));
    expect(hash.digest('hex')).toBe(sha256Hex(data));
    expect(sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('gives the empty hash when fed nothing', () => {
    expect(createSha256().digest('hex')).toBe(EMPTY_SHA256);
  });

  it('returns independent hashers', () => {
    const a = createSha256();
    const b = createSha256();
    a.update('abc');
    expect(b.digest('hex')).toBe(EMPTY_SHA256);
    expect(a.digest('hex')).toBe(ABC_SHA256);
  });
});

describe('isSha256Hex', () => {
  it('accepts 64 lowercase hex digits', () => {
    expect(isSha256Hex(EMPTY_SHA256)).toBe(true);
    expect(isSha256Hex('0'.repeat(64))).toBe(true);
    expect(isSha256Hex('f'.repeat(64))).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['uppercase', EMPTY_SHA256.toUpperCase()],
    ['one uppercase digit', `A${EMPTY_SHA256.slice(1)}`],
    ['63 digits', EMPTY_SHA256.slice(1)],
    ['65 digits', `${EMPTY_SHA256}0`],
    ['non-hex letter', `g${EMPTY_SHA256.slice(1)}`],
    ['trailing newline', `${EMPTY_SHA256}\n`],
    ['leading space', ` ${EMPTY_SHA256.slice(1)}`],
    ['0x prefix', `0x${EMPTY_SHA256.slice(2)}`],
    ['128 digits', EMPTY_SHA256.repeat(2)],
  ])('refuses %s', (_name, value) => {
    expect(isSha256Hex(value)).toBe(false);
  });
});
