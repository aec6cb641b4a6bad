import { describe, expect, it } from 'vitest';
import { PackedChunks } from './packed-chunks.js';

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('PackedChunks', () => {
  it('keeps a chunk from its second request on, not its first', () => {
    const c = new PackedChunks();
    c.offer('a', bytes(100));
    expect(c.get('a')).toBeUndefined();
    c.offer('a', bytes(100));
    expect(c.get('a')?.length).toBe(100);
    expect(c.hits).toBe(1);
  });

  it('keeps "goes raw" as well as deflated bytes', () => {
    const c = new PackedChunks();
    c.offer('r', null);
    c.offer('r', null);
    expect(c.get('r')).toBeNull();
    expect(c.get('never')).toBeUndefined();
  });

  it('keeps a copy of its own size, not a view of a larger buffer', () => {
    const c = new PackedChunks();
    const big = Buffer.alloc(64 * 1024);
    const view = big.subarray(0, 5000);
    c.offer('v', view);
    c.offer('v', view);
    const kept = c.get('v')!;
    expect(kept.equals(view)).toBe(true);
    expect(kept.buffer).not.toBe(big.buffer);
    expect(kept.buffer.byteLength).toBeLessThan(16 * 1024);
  });

  it('stays within its byte budget, letting the least recently used go first', () => {
    const c = new PackedChunks(3 * (1000 + 128));
    for (const h of ['a', 'b', 'c']) {
      c.offer(h, bytes(1000));
      c.offer(h, bytes(1000));
    }
    c.get('a');
    c.offer('d', bytes(1000));
    c.offer('d', bytes(1000));
    expect(c.bytes).toBeLessThanOrEqual(3 * 1128);
    expect(c.get('b')).toBeUndefined();
    for (const h of ['a', 'c', 'd']) expect(c.get(h)).toBeDefined();
  });

  it('remembers a bounded number of hashes asked for once', () => {
    const c = new PackedChunks(1024 * 1024, 2);
    c.offer('x', bytes(10));
    c.offer('y', bytes(10));
    c.offer('z', bytes(10));
    // 'x' was forgotten to make room: its second request counts as a first.
    c.offer('x', bytes(10));
    expect(c.get('x')).toBeUndefined();
    c.offer('z', bytes(10));
    expect(c.get('z')).toBeDefined();
  });
});
