import { describe, expect, it } from 'vitest';
import { rawEventPath } from './watcher.js';

describe('rawEventPath', () => {
  const anything = () => true;
  const noSearch = () => false;

  it('names the file an event of a directory watch names, or the directory when it names none', () => {
    expect(rawEventPath('/c/x', 'f.txt', noSearch)).toBe('/c/x/f.txt');
    expect(rawEventPath('/c/x', null, noSearch)).toBe('/c/x');
    expect(rawEventPath('/c/x', '', noSearch)).toBe('/c/x');
  });

  it("takes an event under the directory's own name for one of the directory itself when that file cannot be looked up", () => {
    // chmod 000 x/deep: inotify tells the watch of x/deep under the name "deep", and x/deep/deep
    // had been reported unreadable beside x/deep (the watch of x names x/deep itself).
    expect(rawEventPath('/c/x/deep', 'deep', noSearch)).toBeNull();
    // A file that has the directory's name, or had it (just deleted), is named as any other.
    expect(rawEventPath('/c/x/deep', 'deep', anything)).toBe('/c/x/deep/deep');
    expect(rawEventPath('/nowhere/deep', 'deep')).toBe('/nowhere/deep/deep');
  });

  it('looks a name up only when it is the directory’s own', () => {
    const asked: string[] = [];
    const probe = (abs: string) => {
      asked.push(abs);
      return true;
    };
    rawEventPath('/c/x/deep', 'other', probe);
    rawEventPath('/c/x/deep', 'deep', probe);
    expect(asked).toEqual(['/c/x/deep/deep']);
  });
});
