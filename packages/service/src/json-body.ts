import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './problem.js';

/** The one media type the API's request bodies come in. */
export const JSON_TYPE = 'application/json';

/**
 * Keys through which a parsed body could reach an object's prototype once it is merged or
 * assigned somewhere (prototype pollution). No body of the API has a field so named.
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * How deep a body may nest. The API's bodies nest two levels; JSON.parse's reviver recurses,
 * so 30,000 `[` in a 64 KiB body overflowed the stack and was called "not valid JSON".
 */
export const MAX_JSON_DEPTH = 32;

/** A body refused before any route sees it: a 400 whose message says what was wrong. */
export class JsonBodyError extends Error {
  readonly statusCode = 400;
}

/** Thrown from inside JSON.parse's reviver, to be told apart from a syntax error. */
class PrototypeKey extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** The deepest nesting of arrays and objects in a JSON text, brackets inside strings aside. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a request body as JSON (RFC 8259: UTF-8); an empty body, bytes that are not UTF-8,
 * bad JSON, nesting past MAX_JSON_DEPTH or a prototype key is a JsonBodyError.
 */
export function parseJsonBody(bytes: Buffer | string): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch {
    // The only failure of a fatal decoder; the bytes used to become U+FFFD unseen.
    throw new JsonBodyError('the body is not valid UTF-8, as JSON must be');
  }
  if (text.trim() === '') throw new JsonBodyError(`the body is empty: send a JSON document as ${JSON_TYPE}`);
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    throw new JsonBodyError(`the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    // JSON.parse makes `__proto__` an own key (harmless here), and the reviver sees every key
    // at every depth: so one is refused wherever it stands, as fastify's secure-json-parse
    // would, but with a message saying which key and why rather than "not valid JSON".
    return JSON.parse(text, (key, value) => {
      if (PROTOTYPE_KEYS.has(key)) throw new PrototypeKey(key);
      return value;
    });
  } catch (err) {
    if (err instanceof PrototypeKey)
      throw new JsonBodyError(
        `the JSON body has a "${err.key}" key: refused, as it could reach an object's prototype`,
      );
    throw new JsonBodyError(`the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Makes `application/json` bodies parse with parseJsonBody, under the server's body limit. */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser(JSON_TYPE);
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'buffer' }, (_req, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body as Buffer);
    } catch (err) {
      // A JsonBodyError (400, its message the problem's detail); nothing else is thrown here.
      done(err as Error, undefined);
      return;
    }
    done(null, parsed);
  });
}

/**
 * An onRequest hook for a route whose body is JSON: a body in any other media type (curl's
 * `-d` sends a form; `text/plain` would reach the route as a string) is 415 with `Accept`
 * naming the one taken, before anything is read. A request with no body passes: the route
 * says what it wants.
 */
export async function jsonBodyOnly(req: FastifyRequest, reply: FastifyReply) {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return;
  const type = req.headers['content-type'];
  const media = type?.split(';')[0]?.trim().toLowerCase();
  if (media === JSON_TYPE) return;
  reply.header('Accept', JSON_TYPE);
  return sendProblem(
    reply,
    415,
    'Unsupported Media Type',
    `the body must be JSON, sent with Content-Type: ${JSON_TYPE}${type ? `, not ${type}` : ''}`,
  );
}
