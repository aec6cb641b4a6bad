import { describe, expect, it } from 'vitest';
import { holdEarlyHangups, releaseEarlyHangups, releaseEarlyStop } from './early-hangups.js';

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
    releaseEarlyStop();
  });

  it('keep the first SIGTERM or SIGINT for the command, which takes it once', () => {
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    holdEarlyHangups();
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    expect(releaseEarlyStop()).toBe('SIGTERM');
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
    expect(releaseEarlyStop()).toBeNull();
    releaseEarlyHangups();
  });
});
