import { describe, expect, it } from 'vitest';
import { RefusalLog } from './refusal-log.js';

describe('RefusalLog', () => {
  it("says a client's first refusal, then at most one a minute with those held back", () => {
    let now = 0;
    const log = new RefusalLog(() => now);
    expect(log.note('10.0.0.1')).toBe(1);
    now = 500;
    expect(log.note('10.0.0.1')).toBe(0);
    expect(log.note('10.0.0.1')).toBe(0);
    // Another client is its own.
    expect(log.note('10.0.0.2')).toBe(1);
    now = 60_000;
    expect(log.note('10.0.0.1')).toBe(3);
    expect(log.note('10.0.0.1')).toBe(0);
  });

  it('stays bounded however many clients it sees', () => {
    let now = 0;
    const log = new RefusalLog(() => now);
    for (let i = 0; i < 5000; i++) expect(log.note(`c${i}`)).toBe(1);
    now = 1;
    // The oldest were let go: a client seen long ago in the flood is new again.
    expect(log.note('c0')).toBe(1);
    expect(log.note('c4999')).toBe(0);
  });
});
