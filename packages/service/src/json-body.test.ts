import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  installJsonBodyParser,
  JsonBodyError,
  jsonBodyOnly,
  jsonDepth,
  MAX_JSON_DEPTH,
  parseJsonBody,
} from './json-body.js';
import { installProblemHandlers } from './problem.js';

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody('{"to": 3, "list": [{"a": null}]}')).toEqual({ to: 3, list: [{ a: null }] });
  });

  it.each([
    ['__proto__', '{"__proto__": {"admin": true}, "to": 1}'],
    ['__proto__', '{"to": 1, "deep": [{"x": {"__proto__": {}}}]}'],
    ['constructor', '{"constructor": {"admin": true}}'],
    // The reviver goes depth first: the inner key is the one named.
    ['prototype', '{"constructor": {"prototype": {"admin": true}}}'],
    ['prototype', '{"a": {"prototype": 1}}'],
  ])('refuses a "%s" key at any depth, saying so', (key, text) => {
    expect(() => parseJsonBody(text)).toThrow(JsonBodyError);
    expect(() => parseJsonBody(text)).toThrow(`the JSON body has a "${key}" key`);
  });

  it('refuses bytes that are not UTF-8, where they became U+FFFD unseen', () => {
    expect(() => parseJsonBody(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toThrow(
      'the body is not valid UTF-8, as JSON must be',
    );
    expect(parseJsonBody(Buffer.from('{"n":"é"}'))).toEqual({ n: 'é' });
  });

  it('refuses nesting past the limit, where the stack overflowed into "not valid JSON"', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(() => parseJsonBody(deep(30_000))).toThrow(
      `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
    expect(() => parseJsonBody(deep(MAX_JSON_DEPTH))).not.toThrow();
    // Brackets inside strings (escaped quotes too) are text, not nesting.
    expect(parseJsonBody(`{"a":"${'[\\"'.repeat(100)}"}`)).toEqual({ a: '["'.repeat(100) });
    expect(jsonDepth('{"a":[1,{"b":"]]]"}]}')).toBe(3);
  });

  it('says an empty body is empty, and bad JSON is bad JSON', () => {
    expect(() => parseJsonBody(' \n')).toThrow('the body is empty');
    expect(() => parseJsonBody('{bad')).toThrow(/^the body is not valid JSON: /);
  });
});

describe('JSON bodies on a server', () => {
  const app = Fastify();
  installProblemHandlers(app);
  installJsonBodyParser(app);
  app.post('/echo', { onRequest: jsonBodyOnly }, async (req) => ({ body: req.body ?? null }));
  const post = (payload: string, type?: string) =>
    app.inject({
      method: 'POST',
      url: '/echo',
      payload,
      headers: type === undefined ? {} : { 'content-type': type },
    });

  it('takes application/json, with or without parameters', async () => {
    for (const type of ['application/json', 'Application/JSON; charset=utf-8']) {
      const res = await post('{"a":1}', type);
      expect(res.statusCode, type).toBe(200);
      expect(res.json()).toEqual({ body: { a: 1 } });
    }
  });

  it('answers a body of another media type 415, naming the one it takes', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await post('{"a":1}', type);
      expect(res.statusCode, type).toBe(415);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers.accept).toBe('application/json');
      expect(res.json().detail).toBe(
        `the body must be JSON, sent with Content-Type: application/json, not ${type}`,
      );
    }
  });

  it('answers a prototype key 400 with what was wrong, not a generic message', async () => {
    const res = await post('{"__proto__": {"x": 1}}', 'application/json');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      status: 400,
      detail: 'the JSON body has a "__proto__" key: refused, as it could reach an object\'s prototype',
    });
  });

  it('lets a request without a body through to the route', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: null });
  });
});
