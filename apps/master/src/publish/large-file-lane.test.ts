import { describe, expect, it, vi } from 'vitest';
import { type LaneJob, LargeFileLane } from './large-file-lane.js';

/** A lane whose jobs each wait until the test lets them end. */
function heldLane() {
  const started: string[] = [];
  const releases: (() => void)[] = [];
  let running = 0;
  let most = 0;
  let idle = 0;
  const lane = new LargeFileLane({
    run: async (job: LaneJob) => {
      started.push(job.rel);
      most = Math.max(most, ++running);
      await new Promise<void>((r) => releases.push(r));
      running--;
    },
    onIdle: () => idle++,
  });
  const releaseNext = async () => {
    await vi.waitUntil(() => releases.length > 0, { timeout: 2000, interval: 1 });
    releases.shift()!();
  };
  return { lane, started, releaseNext, most: () => most, idle: () => idle };
}

describe('the large-file lane', () => {
  it('reads one file at a time, in order, and says when it is idle', async () => {
    const h = heldLane();
    h.lane.enqueue({ rel: 'a.iso' });
    h.lane.enqueue({ rel: 'b.iso' });
    expect(h.lane.busy).toBe(true);
    expect(h.lane.progress?.files).toBe(2);
    await h.releaseNext();
    await h.releaseNext();
    await vi.waitUntil(() => h.idle() === 1, { timeout: 2000, interval: 1 });
    expect(h.started).toEqual(['a.iso', 'b.iso']);
    expect(h.most()).toBe(1);
    expect(h.lane.busy).toBe(false);
    expect(h.lane.progress).toBeNull();
  });

  it('reads a file queued twice once, and again when it is queued while being read', async () => {
    const h = heldLane();
    h.lane.enqueue({ rel: 'a.iso' });
    await vi.waitUntil(() => h.lane.reading === 'a.iso', { timeout: 2000, interval: 1 });
    h.lane.enqueue({ rel: 'a.iso' });
    h.lane.enqueue({ rel: 'a.iso' });
    await h.releaseNext();
    await h.releaseNext();
    await vi.waitUntil(() => h.idle() === 1, { timeout: 2000, interval: 1 });
    expect(h.started).toEqual(['a.iso', 'a.iso']);
  });

  it('at close drops what is queued, waits for the file being read and counts what was left unread', async () => {
    const h = heldLane();
    h.lane.enqueue({ rel: 'a.iso' });
    h.lane.enqueue({ rel: 'b.iso' });
    await vi.waitUntil(() => h.lane.reading === 'a.iso', { timeout: 2000, interval: 1 });
    const closed = h.lane.close();
    await h.releaseNext();
    expect(await closed).toBe(1);
    h.lane.enqueue({ rel: 'c.iso' });
    expect(h.started).toEqual(['a.iso']);
    expect(h.idle()).toBe(0);
  });
});
