import { describe, expect, it } from 'vitest';
import { BodyCache } from './body-cache.js';

const buf = (n: number, fill = 'x') => Buffer.alloc(n, fill);
/** Keys still cached, probed without disturbing the counters' meaning for the test. */
const present = (c: BodyCache, keys: string[]) => keys.filter((k) => c.get(k) !== undefined);

describe('BodyCache', () => {
  it('starts empty and counts a miss', () => {
    const c = new BodyCache(100, 50);
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
    expect(c.get('nope')).toBeUndefined();
    expect(c.hits).toBe(0);
    expect(c.misses).toBe(1);
  });

  it('returns the same buffer it kept and counts hits and misses', () => {
    const c = new BodyCache(100, 50);
    const a = buf(10, 'a');
    c.set('a', a);
    expect(c.size).toBe(1);
    expect(c.bytes).toBe(10);
    expect(c.get('a')).toBe(a);
    expect(c.get('a')).toBe(a);
    expect(c.get('b')).toBeUndefined();
    expect(c.hits).toBe(2);
    expect(c.misses).toBe(1);
  });

  it('does not count sets as hits or misses', () => {
    const c = new BodyCache(100, 50);
    c.set('a', buf(10));
    c.set('a', buf(20));
    c.set('huge', buf(99));
    expect(c.hits).toBe(0);
    expect(c.misses).toBe(0);
  });

  it('evicts the least recently set when nothing was read', () => {
    const c = new BodyCache(30, 30);
    c.set('a', buf(10));
    c.set('b', buf(10));
    c.set('c', buf(10));
    c.set('d', buf(10));
    expect(c.size).toBe(3);
    expect(c.bytes).toBe(30);
    expect(present(c, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd']);
  });

  it('evicts the least recently used: a read refreshes an entry', () => {
    const c = new BodyCache(30, 30);
    c.set('a', buf(10));
    c.set('b', buf(10));
    c.set('c', buf(10));
    c.get('a'); // order now b, c, a
    c.set('d', buf(10)); // evicts b
    expect(c.get('b')).toBeUndefined();
    c.set('e', buf(10)); // evicts c
    expect(present(c, ['a', 'c', 'd', 'e'])).toEqual(['a', 'd', 'e']);
    expect(c.bytes).toBe(30);
  });

  it('evicts as many entries as it takes to stay within the byte bound', () => {
    const c = new BodyCache(100, 100);
    for (const k of ['a', 'b', 'c', 'd', 'e']) c.set(k, buf(20));
    expect(c.bytes).toBe(100);
    c.set('big', buf(65)); // needs 65: a, b, c and d go (100 + 65 - 80 = 85)
    expect(c.bytes).toBe(85);
    expect(c.size).toBe(2);
    expect(present(c, ['a', 'b', 'c', 'd', 'e', 'big'])).toEqual(['e', 'big']);
  });

  it('never holds more than maxBytes after any set', () => {
    const c = new BodyCache(1000, 400);
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 48_271) % 2_147_483_647;
      c.set(`k${i % 37}`, buf(seed % 450));
      expect(c.bytes).toBeLessThanOrEqual(1000);
    }
    // bytes is the true sum of what is kept
    let sum = 0;
    for (let i = 0; i < 37; i++) sum += c.get(`k${i}`)?.length ?? 0;
    expect(sum).toBe(c.bytes);
  });

  it('refuses a body over the entry bound without evicting anything', () => {
    const c = new BodyCache(90, 40);
    c.set('a', buf(30));
    c.set('b', buf(30));
    c.set('big', buf(41));
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(60);
    expect(c.get('big')).toBeUndefined();
    c.set('edge', buf(40)); // exactly the entry bound is kept, evicting a (100 > 90)
    expect(c.get('edge')?.length).toBe(40);
    expect(present(c, ['a', 'b'])).toEqual(['b']);
  });

  it('refuses a body over the total bound even when the entry bound is larger', () => {
    const c = new BodyCache(50, 1000);
    c.set('a', buf(10));
    c.set('big', buf(51));
    expect(c.get('big')).toBeUndefined();
    expect(c.get('a')?.length).toBe(10);
    c.set('full', buf(50)); // exactly the total bound fits, alone
    expect(c.size).toBe(1);
    expect(c.bytes).toBe(50);
  });

  it('replaces a key in place of the old body, adjusting bytes', () => {
    const c = new BodyCache(100, 100);
    c.set('a', buf(10, 'a'));
    c.set('b', buf(10, 'b'));
    const next = buf(25, 'A');
    c.set('a', next);
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(35);
    expect(c.get('a')).toBe(next);
    c.set('a', buf(5));
    expect(c.bytes).toBe(15);
  });

  it('counts a replaced key as most recently used', () => {
    const c = new BodyCache(30, 30);
    c.set('a', buf(10));
    c.set('b', buf(10));
    c.set('c', buf(10));
    c.set('a', buf(10)); // order now b, c, a
    c.set('d', buf(10)); // evicts b
    expect(present(c, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
  });

  it('does not let a replacement evict its own key', () => {
    const c = new BodyCache(30, 30);
    c.set('a', buf(10));
    c.set('b', buf(10));
    c.set('b', buf(30));
    expect(c.size).toBe(1);
    expect(c.bytes).toBe(30);
    expect(c.get('b')?.length).toBe(30);
  });
});
