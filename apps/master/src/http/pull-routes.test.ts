import { describe, expect, it } from 'vitest';
import { oneFileMaster } from './one-file-master.test-helper.js';

const fixture = oneFileMaster('outpost-pull-', { token: 'rep' }, 'all');

const auth = { authorization: 'Bearer rep' };
const manifest = (query: string) =>
  fixture.master.app.inject({ url: `/_outpost/api/v1/manifest?${query}`, headers: auth });

describe('the pull API refuses numbers not written in plain decimal digits', () => {
  it.each(['1e0', '0x1', '%201', '1%20', '1.0', '-0', '%2B1', '', '9007199254740993'])(
    'answers from, to and part given as "%s" 400, naming the parameter',
    async (v) => {
      for (const key of ['from', 'to', 'part']) {
        const res = await manifest(`part=0&${key}=${v}`);
        expect(res.statusCode, `${key}=${v}`).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json().detail, `${key}=${v}`).toMatch(new RegExp(`^query parameter ${key}: expected`));
      }
    },
  );

  it('answers a parameter given twice 400, naming it', async () => {
    const res = await manifest('from=1&from=2');
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('query parameter from: expected one value, in decimal digits');
  });

  it('still takes decimal digits, and ignores parameters it does not know (a newer replica may send more)', async () => {
    const res = await manifest('from=1&to=1&part=0&since=yesterday');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: 1, from: 1 });
  });

  it('names the field of a chunk batch body it refuses', async () => {
    const res = await fixture.master.app.inject({
      method: 'POST',
      url: '/_outpost/api/v1/chunks',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { hashes: ['f'.repeat(64), 'F'.repeat(64)] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('chunk batch body hashes.1: not a lowercase hex SHA-256');
  });

  it('answers a chunk batch body that is not application/json 415', async () => {
    const res = await fixture.master.app.inject({
      method: 'POST',
      url: '/_outpost/api/v1/chunks',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: JSON.stringify({ hashes: ['f'.repeat(64)] }),
    });
    expect(res.statusCode).toBe(415);
    expect(res.headers.accept).toBe('application/json');
  });
});
