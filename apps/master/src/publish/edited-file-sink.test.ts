import { LIMITS } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { editedFileSink } from './edited-file-sink.js';
import type { ChunkSink } from './read-file.js';

const recorder = () => {
  const hashes: string[] = [];
  const sink: ChunkSink = { put: (hash) => hashes.push(hash), crowded: false };
  return { hashes, sink };
};

describe('editedFileSink', () => {
  it('skips held chunks, keeps the first patchable new ones untold and tells the rest', () => {
    const store = recorder();
    const ahead = recorder();
    const s = editedFileSink(
      store.sink,
      ahead.sink,
      [
        { hash: 'h1', size: 1 },
        { hash: 'h2', size: 1 },
      ],
      3,
    );
    for (const h of ['h1', 'n1', 'h2', 'n2', 'n3', 'n4', 'h1', 'n5']) s.put(h, Buffer.from(h));
    expect(store.hashes).toEqual(['n1', 'n2', 'n3']);
    expect(ahead.hashes).toEqual(['n4', 'n5']);
  });

  it('tells nothing of a file with no more new chunks than a manifest may patch', () => {
    const store = recorder();
    const ahead = recorder();
    const s = editedFileSink(store.sink, ahead.sink, [{ hash: 'old', size: 1 }]);
    for (let i = 0; i < LIMITS.maxPatchesPerPut; i++) s.put(`n${i}`, Buffer.alloc(1));
    expect(store.hashes).toHaveLength(LIMITS.maxPatchesPerPut);
    expect(ahead.hashes).toEqual([]);
    s.put('past', Buffer.alloc(1));
    expect(ahead.hashes).toEqual(['past']);
  });

  it("passes the store's backpressure on", async () => {
    let waited = 0;
    let crowded = false;
    const store: ChunkSink = {
      put: () => undefined,
      room: async () => {
        waited++;
      },
      get crowded() {
        return crowded;
      },
    };
    const s = editedFileSink(store, recorder().sink, []);
    expect(s.crowded).toBe(false);
    crowded = true;
    expect(s.crowded).toBe(true);
    await s.room?.();
    expect(waited).toBe(1);
  });
});
