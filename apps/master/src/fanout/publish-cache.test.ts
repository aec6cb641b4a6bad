import { describe, expect, it } from 'vitest';
import { PublishCache } from './publish-cache.js';

describe('PublishCache', () => {
  it('builds the messages for a key once', () => {
    const cache = new PublishCache();
    let builds = 0;
    const build = () => {
      builds++;
      return ['{"type":"publish"}'];
    };
    expect(cache.get('3:0::true', build)).toBe(cache.get('3:0::true', build));
    expect(builds).toBe(1);
  });

  it('keeps at most so many sets and so many characters, dropping the oldest, but always the newest', () => {
    const cache = new PublishCache(2, 100);
    const builds: string[] = [];
    const make = (key: string, chars: number) =>
      cache.get(key, () => {
        builds.push(key);
        return ['x'.repeat(chars)];
      });
    make('a', 10);
    make('b', 10);
    make('c', 10); // over two sets: a goes
    expect(cache.chars).toBe(20);
    make('b', 10);
    make('a', 10); // built again; b (the oldest now) goes
    expect(builds).toEqual(['a', 'b', 'c', 'a']);
    make('big', 150); // alone over the size: everything else goes, it stays
    expect(cache.chars).toBe(150);
    make('big', 150);
    expect(builds.at(-1)).toBe('big');
    expect(builds.filter((k) => k === 'big')).toHaveLength(1);
    cache.clear();
    expect(cache.chars).toBe(0);
  });
});
