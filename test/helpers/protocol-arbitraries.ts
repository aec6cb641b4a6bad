import { contentPathProblem } from '@outpost/core';
import fc from 'fast-check';

/** One WebSocket frame to send: its exact bytes, text or binary, and how it was made. */
export interface Frame {
  binary: boolean;
  bytes: Buffer;
  /** The generator that made it ("valid", "truncated", "binary", …), for the summary. */
  tag: string;
}

/** Shows a frame in a counterexample as its tag and the start of its text, not a byte array. */
export function frame(binary: boolean, bytes: Buffer, tag: string): Frame {
  const shown = () =>
    `${tag}${binary ? '(binary)' : ''}:${bytes.subarray(0, 300).toString()}${bytes.length > 300 ? `…(${bytes.length} bytes)` : ''}`;
  return Object.defineProperty({ binary, bytes, tag }, fc.toStringMethod, {
    value: shown,
    enumerable: false,
  });
}

export const textFrame = (s: string, tag: string): Frame => frame(false, Buffer.from(s), tag);
export const jsonFrame = (v: unknown, tag: string): Frame => textFrame(JSON.stringify(v), tag);

// --- scalars, as the zod schemas in packages/protocol define them ---

export const sha256Arb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('hex'));
export const versionArb = fc.oneof(
  { weight: 6, arbitrary: fc.nat(1000) },
  { weight: 2, arbitrary: fc.maxSafeNat() },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 2, Number.MAX_SAFE_INTEGER) },
);
export const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
export const epochMsArb = fc.oneof(fc.nat(), fc.integer({ min: 0, max: 8.64e15 }));

/** Strings that have broken path handling somewhere: traversal, encodings, reserved names. */
export const TRICKY_PATHS = [
  '../x',
  '..',
  '.',
  'a/../../etc/passwd',
  '../../../../../../etc/passwd',
  '/etc/passwd',
  '//x',
  'a//b',
  './a',
  'a/./b',
  'a/',
  'a\\b',
  '..\\..\\windows\\win.ini',
  'C:\\x',
  'c:x',
  '_outpost/x',
  '_outpost',
  '_OUTPOST/api/v1/status',
  '_Outpost/ws',
  'a\u0000b',
  'a\nb',
  'a\u007fb',
  'a\u0085b',
  '\ud800',
  'a\udc00b',
  '',
  ' ',
  '%2e%2e/x',
  '%2e%2e%2fx',
  '..%2fx',
  '..%5cx',
  '\u2024\u2024/x',
  '\uff0e\uff0e/x',
  'a/\u200d/b',
  'x'.repeat(256),
  `${'a/'.repeat(2100)}a`,
  'CON',
  'nul.txt',
  'e\u0301.txt',
  '\u00e9.txt',
];

/** Values of the wrong type or range for any field. */
export const weirdValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0.5,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 64,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    '',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e309',
    '-0',
    '0x10',
    '1',
    '-1',
    ' 1',
    'null',
    'undefined',
    'true',
    '__proto__',
    'constructor',
    [],
    {},
    [1, 2],
    { a: 1 },
    // An own `__proto__` key, as JSON.parse makes it.
    JSON.parse('{"__proto__":{"polluted":true}}'),
    'A'.repeat(64),
    'g'.repeat(64),
  ),
  fc.integer(),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...TRICKY_PATHS),
  fc.integer({ min: 1, max: 30 }).map((d) => nest(d)),
  fc.integer({ min: 5000, max: 70_000 }).map((n) => 'x'.repeat(n)),
);

function nest(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** The `type`s anyone might try. */
export const typeArb = fc.oneof(
  fc.constantFrom(
    'hello',
    'welcome',
    'publish',
    'ack',
    'nack',
    'ping',
    'pong',
    'HELLO',
    'Hello',
    'hello ',
    '',
    'constructor',
    '__proto__',
    'toString',
  ),
  fc.string({ maxLength: 12 }),
);

// --- generic mutations of a well-formed message ---

/** Every way a well-formed JSON message `base` can be broken; the result may still be valid. */
export function mutationsOf(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Frame> {
  const setField = fc
    .tuple(base, fc.nat(), weirdValueArb)
    .map(([o, i, v]) => jsonFrame(setAt(o, i, v), 'field'));
  const dropField = fc.tuple(base, fc.nat()).map(([o, i]) => {
    const keys = Object.keys(o);
    const c = { ...o };
    delete c[keys[i % keys.length]!];
    return jsonFrame(c, 'drop-field');
  });
  const extraField = fc
    .tuple(base, fc.string({ maxLength: 10 }), weirdValueArb)
    .map(([o, k, v]) => jsonFrame({ ...o, [k]: v }, 'extra-field'));
  const retype = fc.tuple(base, typeArb).map(([o, t]) => jsonFrame({ ...o, type: t }, 'type'));
  const truncated = fc.tuple(base, fc.nat()).map(([o, n]) => {
    const s = JSON.stringify(o);
    return textFrame(s.slice(0, n % s.length), 'truncated');
  });
  const garbled = fc
    .tuple(
      base,
      fc.constantFrom(
        (s: string) => `\ufeff${s}`,
        (s: string) => `${s}}`,
        (s: string) => `${s},`,
        (s: string) => `${s}${s}`,
        (s: string) => `[${s}]`,
        (s: string) => JSON.stringify(s),
        (s: string) => ` \n\t${s}\r\n `,
        (s: string) => s.replace(/"/g, "'"),
        (s: string) => s.replace(/:/, '::'),
        (s: string) => s.replace(/\d/, 'NaN'),
        (s: string) => s.replace(/\d+/, '1e999'),
        (s: string) => s.replace(/\d+/, '-0'),
        (s: string) => s.replace(/\d+/, '0.0000001'),
        (s: string) => s.replace(/\d+/, '00012'),
        (s: string) => s.replace(/\d+/, '123456789012345678901234567890'),
        (s: string) => s.replace('{', '{"__proto__":{"type":"hello","polluted":1},'),
        (s: string) => s.replace('{', '{"type":"ping",'),
        (s: string) => `${s.slice(0, -1)},"type":"ping"}`,
      ),
    )
    .map(([o, f]) => textFrame(f(JSON.stringify(o)), 'garbled'));
  const literal = fc
    .constantFrom('null', 'true', '42', '"hello"', '[]', '{}', '{"type":null}', '-', '1e999', '[[[[')
    .map((s) => textFrame(s, 'literal'));
  const binary = fc.oneof(
    base.map((o) => frame(true, Buffer.from(JSON.stringify(o)), 'binary-json')),
    fc.uint8Array({ minLength: 0, maxLength: 512 }).map((b) => frame(true, Buffer.from(b), 'binary-random')),
  );
  const randomText = fc
    .uint8Array({ minLength: 1, maxLength: 256 })
    .map((b) => frame(false, Buffer.from(b), 'random-bytes'));
  const oversize = fc
    .tuple(base, fc.integer({ min: 60 * 1024, max: 70 * 1024 }))
    .map(([o, n]) => jsonFrame({ ...o, pad: 'p'.repeat(n) }, 'oversize'));
  const deep = fc
    .tuple(base, fc.integer({ min: 100, max: 30_000 }), fc.boolean())
    .map(([o, d, inKnownField]) => {
      const s = JSON.stringify(o);
      const nested = '['.repeat(d) + ']'.repeat(d);
      const key = inKnownField ? 'load' : 'deep';
      return textFrame(`${s.slice(0, -1)},"${key}":${nested}}`, 'deep');
    });
  const unicode = fc
    .tuple(base, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }))
    .map(([o, i, u]) => jsonFrame(setAt(o, i, u), 'unicode'));
  return fc.oneof(
    { weight: 4, arbitrary: setField },
    { weight: 1, arbitrary: dropField },
    { weight: 1, arbitrary: extraField },
    { weight: 1, arbitrary: retype },
    { weight: 2, arbitrary: truncated },
    { weight: 2, arbitrary: garbled },
    { weight: 1, arbitrary: literal },
    { weight: 1, arbitrary: binary },
    { weight: 1, arbitrary: randomText },
    { weight: 1, arbitrary: oversize },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: unicode },
  );
}

/** Replaces one value somewhere in the object tree (picked by `i`) with `v`. */
export function setAt(o: Record<string, unknown>, i: number, v: unknown): Record<string, unknown> {
  const slots: { holder: any; key: string | number }[] = [];
  const walk = (node: any, depth: number) => {
    if (depth > 3 || node === null || typeof node !== 'object') return;
    const keys = Array.isArray(node) ? node.map((_, k) => k).slice(0, 8) : Object.keys(node);
    for (const k of keys) {
      slots.push({ holder: node, key: k });
      walk(node[k], depth + 1);
    }
  };
  const copy = structuredClone(o);
  walk(copy, 0);
  if (slots.length === 0) return copy;
  const slot = slots[i % slots.length]!;
  slot.holder[slot.key] = v;
  return copy;
}

/** A path that passes the content-path rules. */
export const goodPathArb = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((segs) => segs.join('/'))
  .filter((p) => contentPathProblem(p) === null);
