import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { query, standardView } from './fixtures.js';
import { AMPLIFICATION_FACTOR, Responder } from './responder.js';

// Whatever arrives, the responder answers FORMERR or a proper answer, or stays silent; it never
// throws, and over UDP never answers more than AMPLIFICATION_FACTOR times the bytes it got.

const view = standardView();
const responder = new Responder();
const seeds = [
  query('uk.corp.example'),
  query('corp.example', 'NS', { edns: 1232 }),
  query('uk-london.corp.example', 'AAAA', { edns: 512 }),
  query('nowhere.corp.example', 'TXT'),
  query('example.com', 'A', { edns: 4096 }),
];

function check(packet: Uint8Array) {
  const buf = Buffer.from(packet);
  for (const transport of ['udp', 'tcp'] as const) {
    const res = responder.respond(buf, transport, view);
    if (res === null) continue;
    expect(res.length).toBeGreaterThanOrEqual(12);
    expect(res.readUInt16BE(0)).toBe(buf.readUInt16BE(0));
    expect(res.readUInt16BE(2) & 0x8000).toBe(0x8000);
    if (transport === 'udp') expect(res.length).toBeLessThanOrEqual(AMPLIFICATION_FACTOR * buf.length);
  }
}

/** `arb` one time in three, else undefined. */
const seldom = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: arb, weight: 1 });

const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    // A cut, or bytes past the records, make it FORMERR: only some of the mutations have them.
    seldom(fc.nat()),
    seldom(fc.uint8Array({ minLength: 1, maxLength: 64 })),
  )
  .map(([seed, flips, cut, tail]) => {
    const b = Buffer.from(seed);
    for (const [at, v] of flips) b[at % b.length] = v;
    const cutAt = cut === undefined ? b.length : cut % (b.length + 1);
    return tail ? Buffer.concat([b.subarray(0, cutAt), tail]) : b.subarray(0, cutAt);
  });

describe('Responder fuzz', () => {
  it('survives 4,000 random packets', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 4000 });
  });

  it('survives 6,000 mutated queries', () => {
    fc.assert(fc.property(mutated, check), { numRuns: 6000 });
  });

  it('survives 200 oversized packets (up to 64 KiB) and headers with huge counts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4097, maxLength: 65_535 }),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
        (body, counts) => {
          const b = Buffer.from(body);
          b.writeUInt16BE(0x0100, 2);
          for (const [i, c] of counts.entries()) b.writeUInt16BE(c, 4 + 2 * i);
          check(b);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answered something for most mutated queries (the fuzz reaches past the header)', () => {
    expect(
      responder.counters.noerror + responder.counters.nxdomain + responder.counters.refused,
    ).toBeGreaterThan(500);
  });
});
