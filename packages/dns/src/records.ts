import dnsPacket, { type Answer } from 'dns-packet';

/**
 * One resource record: its owner name, written (compressed) when the message is assembled, and
 * the rest (type, class, TTL, RDATA) as encoded once by dns-packet.
 */
export interface Rr {
  /** Lowercase, without the trailing dot; '' for the root (OPT). */
  owner: string;
  body: Buffer;
  /** Written in full, never compressed nor a target (a TSIG's key name). */
  plain?: true;
}

/** dns-packet's single-record encoder (exported by the library, missing from its typings). */
const recordCodec = (dnsPacket as unknown as { answer: { encode(a: Answer): Buffer } }).answer;

/** A record encoded under the root name (one byte), so its owner can be written compressed. */
export function rr(a: Answer): Rr {
  return { owner: a.name === '.' ? '' : a.name, body: recordCodec.encode({ ...a, name: '.' }).subarray(1) };
}

/** Encoded address records kept across zone views: a rebuild encodes only new addresses. */
const addressBodies = new Map<string, Buffer>();
/** Past this many (two fleets at the view's cap), the cache starts over rather than grow. */
const MAX_ADDRESS_BODIES = 100_000;

/** The body (type, class, TTL, RDATA) of the A or AAAA record of `address`, encoded once. */
export function addressBody(address: string, family: 4 | 6, ttl: number): Buffer {
  const key = `${ttl} ${address}`;
  let body = addressBodies.get(key);
  if (!body) {
    body = rr({ type: family === 4 ? 'A' : 'AAAA', name: '.', ttl, data: address }).body;
    if (addressBodies.size >= MAX_ADDRESS_BODIES) addressBodies.clear();
    addressBodies.set(key, body);
  }
  return body;
}
