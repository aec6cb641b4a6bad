import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Batcher, createBatcher } from './batcher.js';

const QUIET = 30;
const MAX = 1_000;

let batches: string[][];
/** When each batch went out, in fake milliseconds since the test began. */
let times: number[];
let t0: number;
let batcher: Batcher;

const now = () => Date.now() - t0;

beforeEach(() => {
  vi.useFakeTimers();
  t0 = Date.now();
  batches = [];
  times = [];
  batcher = createBatcher({
    quietMs: QUIET,
    maxDelayMs: MAX,
    onBatch: (paths) => {
      batches.push([...paths].sort());
      times.push(now());
    },
  });
});

afterEach(() => {
  batcher.close();
  vi.useRealTimers();
});

describe('createBatcher', () => {
  it('sends a lone change after a quiet spell at once, with the rest of its tick', () => {
    batcher.add('a.txt');
    batcher.add('b.txt');
    batcher.add('a.txt');
    expect(batcher.pending).toBe(2);
    // Not synchronously: events of the same tick still join.
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(batches).toEqual([['a.txt', 'b.txt']]);
    expect(times).toEqual([0]);
    expect(batcher.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(MAX * 3);
    expect(batches).toHaveLength(1);
  });

  it('gathers the rest of a burst until quiet for quietMs', () => {
    batcher.add('a');
    vi.advanceTimersByTime(10);
    expect(batches).toEqual([['a']]);
    batcher.add('b');
    vi.advanceTimersByTime(QUIET - 5);
    batcher.add('c');
    vi.advanceTimersByTime(QUIET - 5);
    batcher.add('a');
    expect(batcher.pending).toBe(3);
    vi.advanceTimersByTime(QUIET - 1);
    expect(batches).toEqual([['a']]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([['a'], ['a', 'b', 'c']]);
    expect(times).toEqual([0, 10 + 2 * (QUIET - 5) + QUIET]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts the quiet spell from the last batch', () => {
    batcher.add('a');
    vi.advanceTimersByTime(0);
    // Just inside the window: gathered, goes out quietMs later.
    vi.advanceTimersByTime(QUIET - 1);
    batcher.add('b');
    vi.advanceTimersByTime(QUIET - 1);
    expect(batches).toEqual([['a']]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([['a'], ['b']]);
    // Exactly quietMs after that batch: a new leading edge, out at once.
    vi.advanceTimersByTime(QUIET);
    batcher.add('c');
    vi.advanceTimersByTime(0);
    expect(batches).toEqual([['a'], ['b'], ['c']]);
    expect(times).toEqual([0, 2 * (QUIET - 1) + 1, 3 * QUIET - 1]);
  });

  it('still sends a steady stream at least every maxDelayMs, each path once', () => {
    const step = QUIET / 2;
    const addedAt = new Map<string, number>();
    const sentAt = new Map<string, number>();
    batcher = createBatcher({
      quietMs: QUIET,
      maxDelayMs: MAX,
      onBatch: (paths) => {
        for (const p of paths) {
          expect(sentAt.has(p), p).toBe(false);
          sentAt.set(p, now());
        }
        times.push(now());
      },
    });
    // Events never pause for quietMs, so only the max-delay timer can end a batch.
    for (let i = 0; now() < 3.5 * MAX; i++) {
      addedAt.set(`f${i}`, now());
      batcher.add(`f${i}`);
      vi.advanceTimersByTime(step);
    }
    vi.advanceTimersByTime(MAX);
    expect([...sentAt.keys()].sort()).toEqual([...addedAt.keys()].sort());
    for (const [p, at] of addedAt) expect(sentAt.get(p)! - at, p).toBeLessThanOrEqual(MAX);
    // The first change at once; then each batch maxDelayMs after its first event (events fall
    // every 15 ms: at 15, 1020, 2025); then the tail, quietMs after the last event (3495).
    expect(times).toEqual([0, 15 + MAX, 1020 + MAX, 2025 + MAX, 3495 + QUIET]);
  });

  it('flush() hands over what is pending at once and clears the timers', () => {
    batcher.add('x');
    vi.advanceTimersByTime(0);
    batcher.add('y');
    batcher.add('z');
    expect(vi.getTimerCount()).toBe(2);
    batcher.flush();
    expect(batches).toEqual([['x'], ['y', 'z']]);
    expect(batcher.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(MAX * 2);
    expect(batches).toHaveLength(2);
  });

  it('flush() on a leading edge sends it now, and only once', () => {
    batcher.add('x');
    batcher.flush();
    expect(batches).toEqual([['x']]);
    vi.advanceTimersByTime(MAX);
    expect(batches).toEqual([['x']]);
  });

  it('flush() with nothing pending does not call onBatch', () => {
    batcher.flush();
    vi.advanceTimersByTime(MAX);
    expect(batches).toEqual([]);
  });

  it('close() drops pending paths and timers', () => {
    batcher.add('x');
    vi.advanceTimersByTime(0);
    batcher.add('y');
    batcher.add('z');
    expect(batcher.pending).toBe(2);
    batcher.close();
    expect(batcher.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(MAX * 2);
    expect(batches).toEqual([['x']]);
  });

  it('close() on a leading edge drops it too', () => {
    batcher.add('x');
    batcher.close();
    vi.advanceTimersByTime(MAX);
    expect(batches).toEqual([]);
  });

  it('hands each batch its own set', () => {
    const sets: Set<string>[] = [];
    const b = createBatcher({ quietMs: QUIET, maxDelayMs: MAX, onBatch: (s) => sets.push(s) });
    b.add('a');
    b.flush();
    b.add('b');
    b.flush();
    expect(sets.map((s) => [...s])).toEqual([['a'], ['b']]);
    expect(sets[0]).not.toBe(sets[1]);
  });
});
