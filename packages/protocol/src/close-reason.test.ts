import { describe, expect, it } from 'vitest';
import { closeReason, MAX_CLOSE_REASON_BYTES } from './close-reason.js';

describe('closeReason', () => {
  it('keeps a short reason as it is', () => {
    expect(closeReason('invalid message')).toBe('invalid message');
  });

  it('cuts a long one to fit, never inside a character', () => {
    for (const filler of ['x', 'é', '€', '😀']) {
      for (let n = 30; n < 140; n++) {
        const r = closeReason(`invalid message: ${filler.repeat(n)}`);
        expect(Buffer.byteLength(r)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
        expect(r).not.toContain('\uFFFD');
        expect(r.startsWith('invalid message: ')).toBe(true);
      }
    }
  });
});
