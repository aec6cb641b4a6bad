import { describe, expect, it } from 'vitest';
import { holdEarlyHangups, releaseEarlyHangups } from './early-hangups.js';

describe('early hangups', () => {
  it('are counted while held, handed over once, and the handler goes with the release', () => {
    const before = process.listenerCount('SIGHUP');
    holdEarlyHangups();
    holdEarlyHangups();
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    process.emit('SIGHUP', 'SIGHUP');
    process.emit('SIGHUP', 'SIGHUP');
    expect(releaseEarlyHangups()).toBe(2);
    expect(process.listenerCount('SIGHUP')).toBe(before);
    expect(releaseEarlyHangups()).toBe(0);
  });
});
