import { describe, expect, it } from 'vitest';
import type { ChunkSink } from './read-file.js';
import { withoutHeldChunks } from './without-held-chunks.js';

describe('withoutHeldChunks', () => {
  it('passes on only chunks the file did not hold, and the sink’s backpressure as it is now', async () => {
    const put: string[] = [];
    let crowded = false;
    let waited = 0;
    const sink: ChunkSink = {
      put: (hash) => put.push(hash),
      room: async () => {
        waited++;
      },
      get crowded() {
        return crowded;
      },
    };
    const s = withoutHeldChunks(sink, [
      { hash: 'a', size: 1 },
      { hash: 'b', size: 1 },
    ]);
    for (const h of ['a', 'x', 'b', 'y']) s.put(h, Buffer.from(h));
    expect(put).toEqual(['x', 'y']);
    expect(s.crowded).toBe(false);
    crowded = true;
    expect(s.crowded).toBe(true);
    await s.room?.();
    expect(waited).toBe(1);
  });
});
