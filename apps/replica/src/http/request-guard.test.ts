import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestProblem } from './request-guard.js';

/** A request as node:http hands it over: raw header lines, and the parsed ones. */
const request = (lines: [string, string][], version = '1.1') => {
  const headers: Record<string, string> = {};
  for (const [k, v] of lines) headers[k.toLowerCase()] ??= v;
  const [major, minor] = version.split('.').map(Number);
  return {
    rawHeaders: lines.flat(),
    headers,
    httpVersion: version,
    httpVersionMajor: major,
    httpVersionMinor: minor,
  } as unknown as IncomingMessage;
};

describe('requestProblem', () => {
  it('passes a plain request', () => {
    expect(requestProblem(request([['Host', 'x']]))).toBeNull();
    expect(
      requestProblem(
        request([
          ['host', 'x'],
          ['Transfer-Encoding', 'chunked'],
        ]),
      ),
    ).toBeNull();
  });

  it('refuses more than one Host (RFC 9112 §3.2)', () => {
    expect(
      requestProblem(
        request([
          ['Host', 'x'],
          ['HOST', 'y'],
        ]),
      ),
    ).toBe('more than one Host header');
  });

  // node:http's own check (requireHostHeader) answers a bare 400 with an empty chunked body;
  // the guard's refusal is the replica's, with its headers and a problem body.
  it('refuses an HTTP/1.1 request with no Host (RFC 9112 §3.2)', () => {
    expect(requestProblem(request([['Accept', '*/*']]))).toBe('no Host header');
  });

  it('lets an HTTP/1.0 request go without Host', () => {
    expect(requestProblem(request([], '1.0'))).toBeNull();
  });

  it('refuses a transfer coding other than a final chunked (RFC 9112 §6.3)', () => {
    for (const te of ['gzip', 'identity', 'chunked, gzip', 'xchunked']) {
      expect(
        requestProblem(
          request([
            ['Host', 'x'],
            ['Transfer-Encoding', te],
          ]),
        ),
        te,
      ).toBe('unsupported Transfer-Encoding');
    }
  });
});
