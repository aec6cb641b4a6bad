import { describe, expect, it } from 'vitest';
import { CompressionChoice } from './compression-choice.js';

const MiB = 1024 * 1024;

/** A choice on a clock the test moves. */
function setup() {
  let t = 0;
  const choice = new CompressionChoice({
    now: () => t,
    rawAbove: 40 * MiB,
    deflateBelow: 20 * MiB,
    sampleBytes: 4 * MiB,
  });
  /** One fetch bringing `bytes` over `ms`, in pieces of 1 MiB. */
  const fetch = (bytes: number, ms: number) => {
    choice.begin();
    const pieces = Math.max(1, Math.ceil(bytes / MiB));
    for (let i = 0; i < pieces; i++) {
      t += ms / pieces;
      choice.arrived(Math.min(MiB, bytes - i * MiB));
    }
    choice.end();
  };
  return { choice, fetch, idle: (ms: number) => (t += ms) };
}

describe('CompressionChoice', () => {
  it('asks for deflate until a fast link shows', () => {
    const { choice, fetch } = setup();
    expect(choice.deflate).toBe(true);
    fetch(8 * MiB, 50); // 160 MiB/s: loopback or a LAN
    expect(choice.deflate).toBe(false);
    expect(choice.lastRate).toBeCloseTo(160 * MiB, -3);
  });

  it('goes back to deflate when the link turns slow', () => {
    const { choice, fetch } = setup();
    fetch(8 * MiB, 50);
    expect(choice.deflate).toBe(false);
    fetch(8 * MiB, 800); // 10 MiB/s
    expect(choice.deflate).toBe(true);
  });

  it('keeps its choice for a rate within the band', () => {
    const { choice, fetch } = setup();
    fetch(8 * MiB, 8000 / 30); // 30 MiB/s: between the thresholds
    expect(choice.deflate).toBe(true);
    fetch(8 * MiB, 50);
    expect(choice.deflate).toBe(false);
    fetch(8 * MiB, 8000 / 30);
    expect(choice.deflate).toBe(false);
  });

  it('judges nothing from small fetches, however fast', () => {
    const { choice, fetch } = setup();
    for (let i = 0; i < 3; i++) fetch(1000, 0.01);
    expect(choice.deflate).toBe(true);
    expect(choice.lastRate).toBeUndefined();
  });

  it('does not count the time between fetches', () => {
    const { choice, fetch, idle } = setup();
    fetch(2 * MiB, 20);
    idle(60_000); // a quiet minute between two changes
    fetch(2 * MiB, 20);
    expect(choice.lastRate).toBeCloseTo(100 * MiB, -3);
    expect(choice.deflate).toBe(false);
  });

  it('counts time once while fetches overlap', () => {
    let t = 0;
    const choice = new CompressionChoice({ now: () => t, sampleBytes: 8 * MiB });
    choice.begin();
    choice.begin();
    for (let i = 0; i < 8; i++) {
      t += 100; // two fetches, 1 MiB between them every 100 ms: 10 MiB/s in all
      expect(choice.arrived(MiB)).toBe(false);
    }
    choice.end();
    choice.end();
    expect(choice.lastRate).toBeCloseTo(10 * MiB, -3);
    expect(choice.deflate).toBe(true);
  });

  it('refuses thresholds the wrong way round', () => {
    expect(() => new CompressionChoice({ rawAbove: 1, deflateBelow: 2 })).toThrow(RangeError);
  });
});
