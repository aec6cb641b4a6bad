import { describe, expect, it } from 'vitest';
import { oneFileMaster } from './one-file-master.test-helper.js';

const fixture = oneFileMaster('outpost-admin-', { adminToken: 'admin' }, 'each');

const auth = { authorization: 'Bearer admin' };

describe('the admin API on versions', () => {
  it('answers a version it does not keep with the same 404, whether asked for or rolled back to', async () => {
    expect(fixture.master.publisher.current.version).toBe(1);
    for (const n of [0, 9]) {
      const get = await fixture.master.app.inject({ url: `/_outpost/api/v1/versions/${n}`, headers: auth });
      const post = await fixture.master.app.inject({
        method: 'POST',
        url: '/_outpost/api/v1/rollback',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: { to: n },
      });
      for (const res of [get, post]) {
        expect(res.statusCode, String(n)).toBe(404);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ status: 404, detail: `version ${n} is not kept` });
      }
    }
    expect(fixture.master.publisher.current.version).toBe(1);
  });

  it('refuses a version number written other than in decimal digits, 400 with a problem body', async () => {
    for (const n of ['0x1', '1e0', '1.0', '%201', '-1', 'latest']) {
      const res = await fixture.master.app.inject({ url: `/_outpost/api/v1/versions/${n}`, headers: auth });
      expect(res.statusCode, n).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().detail, n).toMatch(/^version: expected decimal digits only/);
    }
    const huge = await fixture.master.app.inject({
      url: '/_outpost/api/v1/versions/99999999999999999999',
      headers: auth,
    });
    expect(huge.json().detail).toBe('version: expected at most 9007199254740991');
    const padded = await fixture.master.app.inject({ url: '/_outpost/api/v1/versions/01', headers: auth });
    expect(padded.statusCode).toBe(200);
    expect(padded.json()).toMatchObject({ version: 1 });
  });
});

describe('the admin API on malformed bodies', () => {
  const rollback = (payload: string, type?: string) =>
    fixture.master.app.inject({
      method: 'POST',
      url: '/_outpost/api/v1/rollback',
      headers: { ...auth, ...(type === undefined ? {} : { 'content-type': type }) },
      payload,
    });

  it('answers a rollback body that is not application/json 415, naming the type it takes', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await rollback('{"to":1}', type);
      expect(res.statusCode, type).toBe(415);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers.accept).toBe('application/json');
      expect(res.json().detail).toContain('Content-Type: application/json');
    }
    // The token is checked first: no hint at what the API takes to a caller without one.
    const anonymous = await fixture.master.app.inject({
      method: 'POST',
      url: '/_outpost/api/v1/rollback',
      headers: { 'content-type': 'text/plain' },
      payload: '{"to":1}',
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('answers prototype keys 400, saying which key and why', async () => {
    for (const [key, payload] of [
      ['__proto__', '{"__proto__":{"to":1},"to":1}'],
      ['constructor', '{"constructor":{"to":1},"to":1}'],
    ] as const) {
      const res = await rollback(payload, 'application/json');
      expect(res.statusCode, key).toBe(400);
      expect(res.json().detail).toBe(
        `the JSON body has a "${key}" key: refused, as it could reach an object's prototype`,
      );
    }
  });

  it('says what is wrong with a body it cannot take', async () => {
    const cases: [string, string | undefined, string][] = [
      ['', undefined, 'no body; want a JSON body {"to": <version number>}'],
      ['', 'application/json', 'the body is empty: send a JSON document as application/json'],
      ['{"to":"1"}', 'application/json', 'body to: Invalid input: expected number, received string'],
      ['{"to":1,"x":2}', 'application/json', 'body: Unrecognized key: "x"'],
      ['{"to":1e400}', 'application/json', 'body to: '],
      ['[1]', 'application/json', 'body: Invalid input: expected object, received array'],
      [`${'['.repeat(30_000)}${']'.repeat(30_000)}`, 'application/json', 'nests deeper than 32 levels'],
    ];
    for (const [payload, type, detail] of cases) {
      const res = await rollback(payload, type);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().detail, payload).toContain(detail);
    }
    expect(fixture.master.publisher.current.version).toBe(1);
  });
});
