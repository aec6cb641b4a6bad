import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, readPaced } from './paced-body.js';

async function* pieces(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i);
}

describe('paced bodies', () => {
  it('reads a body whole when no limit is set', async () => {
    const body = await readPaced(pieces(3, 4), undefined, 12);
    expect(body).toEqual(Buffer.from([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]));
  });

  it('refuses a body past its bound and stops reading it', async () => {
    let read = 0;
    async function* counted() {
      for await (const p of pieces(100, 10)) {
        read++;
        yield p;
      }
    }
    await expect(readPaced(counted(), undefined, 25)).rejects.toThrow(BodyTooLargeError);
    expect(read).toBe(3);
  });
});
