import { describe, expect, it } from 'vitest';
import { closeReason, explainFrameFaults, MAX_CLOSE_REASON_BYTES } from './close-reason.js';

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

describe('explainFrameFaults', () => {
  it("gives ws's own closes over a bad frame a reason, and leaves every other close as it was", () => {
    const calls: unknown[][] = [];
    const ws = { close: (...args: unknown[]) => void calls.push(args) };
    explainFrameFaults(ws, 1024);
    ws.close(1009);
    ws.close(1007);
    ws.close(1002);
    ws.close(4000, 'message is not JSON');
    ws.close(1001);
    ws.close();
    expect(calls).toEqual([
      [1009, 'message too big: the limit is 1024 bytes'],
      [1007, 'invalid UTF-8 in a text message or close reason'],
      [1002, 'invalid WebSocket frame'],
      [4000, 'message is not JSON'],
      [1001, undefined],
      [undefined, undefined],
    ]);
  });
});
