import dnsPacket, { type Answer } from 'dns-packet';
import { Rotation } from './rotation.js';
import { NS_LABEL, type Target, type ZoneView } from './zone-view.js';

export type Transport = 'udp' | 'tcp';

/** Largest UDP answer we send, whatever a client advertises (the DNS Flag Day 2020 size). */
export const MAX_UDP_PAYLOAD = 1232;
/** A UDP answer never exceeds this multiple of the query's size (no amplification); larger → TC. */
export const AMPLIFICATION_FACTOR = 10;
/** Queries longer than this are refused with FORMERR (a real query is a few dozen bytes). */
export const MAX_QUERY_BYTES = 4096;

const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const BADVERS = 16;

const TYPE = { A: 1, NS: 2, SOA: 6, AAAA: 28, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const;
const CLASS_IN = 1;
const CLASS_ANY = 255;

export interface ResponderCounters {
  queries: number;
  noerror: number;
  nodata: number;
  nxdomain: number;
  refused: number;
  formerr: number;
  notimp: number;
  badvers: number;
  truncated: number;
  /** Packets not answered at all: too short to be a query, or a response. */
  dropped: number;
}

/** A question read from the raw bytes, so the answer echoes it exactly (case included). */
interface RawQuestion {
  labels: string[];
  raw: Buffer;
  qtype: number;
  qclass: number;
}

interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
}

/**
 * Answers DNS queries for one zone from a ZoneView: pure (no sockets, no clock), so every
 * rcode, EDNS, truncation and the rotation are unit-tested byte for byte.
 *
 * Garbage (under 12 bytes, or a packet that is itself a response) gets no answer; a header we
 * can read with a body we cannot gets FORMERR; other opcodes NOTIMP; other zones and classes
 * REFUSED; unknown names NXDOMAIN; known names without records of the type NODATA with the SOA.
 */
export class Responder {
  readonly rotation: Rotation;
  readonly counters: ResponderCounters = {
    queries: 0,
    noerror: 0,
    nodata: 0,
    nxdomain: 0,
    refused: 0,
    formerr: 0,
    notimp: 0,
    badvers: 0,
    truncated: 0,
    dropped: 0,
  };

  constructor(rotation = new Rotation()) {
    this.rotation = rotation;
  }

  /** The answer to one query (UDP datagram or TCP message), or null to stay silent. */
  respond(query: Buffer, transport: Transport, view: ZoneView): Buffer | null {
    this.counters.queries++;
    if (query.length < 12) return this.#drop();
    const id = query.readUInt16BE(0);
    const flags = query.readUInt16BE(2);
    if (flags & QR) return this.#drop();
    const opcode = (flags >> 11) & 0xf;
    const echo = (opcode << 11) | (flags & (RD | CD));
    const bare = (rcode: number, question?: Buffer) => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(QR | echo | rcode, 2);
      if (!question) return h;
      h.writeUInt16BE(1, 4);
      return Buffer.concat([h, question]);
    };
    if (opcode !== 0) {
      this.counters.notimp++;
      return bare(RCODE.NOTIMP);
    }
    const qd = query.readUInt16BE(4);
    const an = query.readUInt16BE(6);
    const ns = query.readUInt16BE(8);
    const ar = query.readUInt16BE(10);
    if (query.length > MAX_QUERY_BYTES || qd !== 1 || an !== 0 || ns !== 0 || ar > 4)
      return this.#formerr(bare);
    const q = readQuestion(query);
    if (!q) return this.#formerr(bare);
    let edns: Edns | null = null;
    if (ar > 0 || q.raw.length + 12 !== query.length) {
      // The rest (OPT, maybe TSIG) through dns-packet: a body it cannot decode is malformed.
      let additionals: Answer[];
      try {
        const decoded = dnsPacket.decode(query);
        additionals = decoded.additionals ?? [];
      } catch {
        return this.#formerr(bare);
      }
      const opts = additionals.filter((a) => a.type === 'OPT');
      if (opts.length > 1) return this.#formerr(bare);
      const opt = opts[0] as
        | (Answer & { udpPayloadSize?: number; ednsVersion?: number; flags?: number })
        | undefined;
      if (opt) {
        if (opt.name !== '.') return this.#formerr(bare);
        edns = {
          udpSize: opt.udpPayloadSize ?? 512,
          version: opt.ednsVersion ?? 0,
          dnssecOk: ((opt.flags ?? 0) & 0x8000) !== 0,
        };
      }
    }
    const optRecord = edns ? [optOf()] : [];
    const limit =
      transport === 'tcp'
        ? 65_535
        : Math.min(
            edns ? Math.min(MAX_UDP_PAYLOAD, Math.max(512, edns.udpSize)) : 512,
            Math.max(12 + q.raw.length + 11, AMPLIFICATION_FACTOR * query.length),
          );
    const finish = (
      rcode: number,
      aa: boolean,
      answers: Answer[],
      authorities: Answer[],
      additionals: Answer[],
    ) => {
      const full = encode(id, QR | echo | (aa ? AA : 0) | (rcode & 0xf), q.raw, answers, authorities, [
        ...additionals,
        ...optRecord,
      ]);
      if (full.length <= limit) return full;
      this.counters.truncated++;
      return encode(id, QR | echo | (aa ? AA : 0) | TC | (rcode & 0xf), q.raw, [], [], optRecord);
    };

    if (edns && edns.version > 0) {
      this.counters.badvers++;
      // BADVERS is 16: its upper 8 bits ride in the OPT record, its low 4 (0) in the header.
      return encode(id, QR | echo, q.raw, [], [], [optOf(BADVERS >> 4)]);
    }
    if (q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY) return this.#refused(finish);

    const zone = view.zoneLabels;
    const rel = q.labels.length - zone.length;
    if (rel < 0 || zone.some((z, i) => q.labels[rel + i] !== z)) return this.#refused(finish);
    if (q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return this.#refused(finish);

    const s = view.settings;
    const ttl = s.ttl;
    const owner = ownerName(q.labels);
    const apex = s.zone;
    const soa: Answer = {
      type: 'SOA',
      name: apex,
      ttl,
      data: {
        mname: `${NS_LABEL}.${apex}`,
        rname: `hostmaster.${apex}`,
        serial: view.serial,
        refresh: 3600,
        retry: 600,
        expire: 86_400,
        minimum: ttl,
      },
    };
    const label = rel === 0 ? '' : rel === 1 ? q.labels[0]! : null;
    const entry = label === null ? undefined : view.names.get(label);
    if (!entry) {
      this.counters.nxdomain++;
      return finish(RCODE.NXDOMAIN, true, [], [soa], []);
    }

    const addressRecords = (targets: Target[], family: 4 | 6, name: string, key: string): Answer[] => {
      const of = targets.filter((t) => t.family === family);
      if (of.length === 0) return [];
      const ordered = entry.kind === 'ns' ? of : this.rotation.order(key, of.map(keyed));
      const chosen = s.mode === 'one' ? ordered.slice(0, 1) : ordered;
      return chosen.map((t) => ({ type: family === 4 ? 'A' : 'AAAA', name, ttl, data: t.address }) as Answer);
    };
    const nsRecord: Answer = { type: 'NS', name: apex, ttl, data: `${NS_LABEL}.${apex}` };
    const glue = () => {
      const ns = view.names.get(NS_LABEL)!.targets;
      return [
        ...addressRecords(ns, 4, `${NS_LABEL}.${apex}`, ''),
        ...addressRecords(ns, 6, `${NS_LABEL}.${apex}`, ''),
      ];
    };

    let answers: Answer[] = [];
    let additionals: Answer[] = [];
    switch (q.qtype) {
      case TYPE.A:
        answers = addressRecords(entry.targets, 4, owner, `${label}/A`);
        break;
      case TYPE.AAAA:
        answers = addressRecords(entry.targets, 6, owner, `${label}/AAAA`);
        break;
      case TYPE.SOA:
        if (entry.kind === 'apex') answers = [{ ...soa, name: owner }];
        break;
      case TYPE.NS:
        if (entry.kind === 'apex') {
          answers = [{ ...nsRecord, name: owner }];
          additionals = glue();
        }
        break;
      case TYPE.ANY:
        // RFC 8482: a small answer rather than everything (ANY is a favourite of amplifiers).
        answers = [{ type: 'HINFO', name: owner, ttl, data: { cpu: 'RFC8482', os: '' } }];
        break;
    }
    if (answers.length === 0) {
      this.counters.nodata++;
      return finish(RCODE.NOERROR, true, [], [soa], []);
    }
    this.counters.noerror++;
    return finish(RCODE.NOERROR, true, answers, [], additionals);
  }

  #drop(): null {
    this.counters.dropped++;
    return null;
  }

  #formerr(bare: (rcode: number) => Buffer): Buffer {
    this.counters.formerr++;
    return bare(RCODE.FORMERR);
  }

  #refused(finish: (rcode: number, aa: boolean, a: Answer[], b: Answer[], c: Answer[]) => Buffer): Buffer {
    this.counters.refused++;
    return finish(RCODE.REFUSED, false, [], [], []);
  }
}

const keyed = (t: Target) => ({ ...t, key: `${t.replica ?? ''}/${t.address}` });

function optOf(extendedRcode = 0): Answer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: MAX_UDP_PAYLOAD,
    extendedRcode,
    flags: 0,
  } as unknown as Answer;
}

/** The owner name of answers, lowercased (the question section keeps the case the resolver sent, for 0x20). */
function ownerName(lowerLabels: string[]): string {
  return lowerLabels.join('.');
}

/**
 * Reads the single question from the raw packet. Labels are plain (no compression pointer:
 * nothing precedes the question to point at), at most 63 bytes, the name at most 255.
 * Returns null for anything else.
 */
function readQuestion(buf: Buffer): RawQuestion | null {
  let off = 12;
  const labels: string[] = [];
  let nameLength = 1;
  for (;;) {
    if (off >= buf.length) return null;
    const len = buf[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63) return null;
    nameLength += len + 1;
    if (nameLength > 255 || off + 1 + len > buf.length) return null;
    labels.push(asciiLower(buf, off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > buf.length) return null;
  return {
    labels,
    raw: buf.subarray(12, off + 4),
    qtype: buf.readUInt16BE(off),
    qclass: buf.readUInt16BE(off + 2),
  };
}

/** A label lowercased for comparison; bytes outside printable ASCII become '\xNN', so they match nothing. */
function asciiLower(buf: Buffer, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x41 && c <= 0x5a) s += String.fromCharCode(c + 32);
    else if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** Encodes a response with dns-packet, then puts the question's raw bytes after the header. */
function encode(
  id: number,
  flags: number,
  rawQuestion: Buffer,
  answers: Answer[],
  authorities: Answer[],
  additionals: Answer[],
): Buffer {
  const body = dnsPacket.encode({
    id,
    type: 'response',
    flags: flags & 0x7fff,
    questions: [],
    answers,
    authorities,
    additionals,
  });
  const out = Buffer.concat([body.subarray(0, 12), rawQuestion, body.subarray(12)]);
  out.writeUInt16BE(1, 4);
  return out;
}
