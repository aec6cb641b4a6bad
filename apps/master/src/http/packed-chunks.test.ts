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

  it('keeps copies of their own size, not views of larger buffers', () => {
    const c = new PackedChunks();
    const views = Array.from({ length: 20 }, (_, i) => Buffer.alloc(64 * 1024, i).subarray(0, 5000));
    for (const [i, v] of views.entries()) {
      c.offer(`h${i}`, v);
      c.offer(`h${i}`, v);
    }
    const kept = views.map((v, i) => {
      const k = c.get(`h${i}`)!;
      expect(k.equals(v)).toBe(true);
      return k;
    });
    // What the kept copies hold: the distinct buffers under them, against their own bytes (a
    // small copy is a slice of a shared pool: 8 KiB slabs on Node 20, 64 KiB on Node 24).
    const held = [...new Set(kept.map((k) => k.buffer))].reduce((n, b) => n + b.byteLength, 0);
    expect(held).toBeLessThanOrEqual(3 * 20 * 5000 + 64 * 1024);
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
