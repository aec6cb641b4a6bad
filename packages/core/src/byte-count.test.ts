import { describe, expect, it } from 'vitest';
import { formatBytes } from './byte-count.js';

describe('formatBytes', () => {
  it('counts bytes below a KiB as they are', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
  });
  it('uses the largest 1024-based unit that keeps the figure at 1 or more', () => {
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(257_228_800)).toBe('245.3 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatBytes(2048 * 1024 ** 4)).toBe('2048.0 TiB');
  });
});
