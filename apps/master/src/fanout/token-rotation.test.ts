import { describe, expect, it } from 'vitest';
import { rotationWarning } from './token-rotation.js';

describe('rotationWarning', () => {
  it('names the replicas still on the previous token', () => {
    expect(rotationWarning(['uk-london'])).toBe(
      "1 replica still presents the previous replication token (OUTPOST_PREVIOUS_TOKEN): uk-london; give it OUTPOST_TOKEN's value and restart it",
    );
    expect(rotationWarning(['asia-tokyo', 'uk-london'])).toContain(
      "2 replicas still present the previous replication token (OUTPOST_PREVIOUS_TOKEN): asia-tokyo, uk-london; give them OUTPOST_TOKEN's value",
    );
  });

  it('names ten and counts the rest', () => {
    const names = Array.from({ length: 13 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    const w = rotationWarning(names);
    expect(w).toContain('13 replicas still present');
    expect(w).toContain('r00, r01, r02, r03, r04, r05, r06, r07, r08, r09 and 3 more;');
  });

  it('says when the rotation can be finished', () => {
    expect(rotationWarning([])).toBe(
      'OUTPOST_PREVIOUS_TOKEN is still accepted, and every replica the master knows has been seen since it started without it: unset it and restart the master to finish the rotation',
    );
  });

  it('names the replicas not seen since the start, which may still hold the old token', () => {
    expect(rotationWarning([], ['eu-paris'])).toBe(
      'no replica seen since the master started presents OUTPOST_PREVIOUS_TOKEN, but 1 replica (eu-paris) has not been seen since and may still hold it: keep it until they have been, or forget them',
    );
    expect(rotationWarning([], ['a', 'b'])).toContain('2 replicas (a, b) have not been seen since');
    // Those still on it come first.
    expect(rotationWarning(['uk-london'], ['eu-paris'])).toMatch(/^1 replica still presents/);
  });
});
