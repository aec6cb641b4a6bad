import dnsPacket, { type Answer } from 'dns-packet';
import type { Pool } from './pool.js';
import { addressBody, type Rr, rr } from './records.js';
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

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
} as const;
const BADVERS = 16;
/** The TSIG error of a key the server does not know (RFC 8945 section 5.2.2). */
const BADKEY = 17;

const TYPE = {
  A: 1,
  NS: 2,
  SOA: 6,
  AAAA: 28,
  OPT: 41,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;
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
  /** Signed (TSIG) queries: no key is known here (RFC 8945 section 5.2.2). */
  notauth: number;
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
  readonly counters: ResponderCounters = {
    queries: 0,
    noerror: 0,
    nodata: 0,
    nxdomain: 0,
    refused: 0,
    formerr: 0,
    notimp: 0,
    badvers: 0,
    notauth: 0,
    truncated: 0,
    dropped: 0,
  };

  /** The answer to one query (UDP datagram or TCP message), or null to stay silent. */
  respond(query: Buffer, transport: Transport, view: ZoneView): Buffer | null {
    this.counters.queries++;
    if (query.length < 12) return this.#drop();
    const id = query.readUInt16BE(0);
    const flags = query.readUInt16BE(2);
    if (flags & QR) return this.#drop();
    const opcode = (flags >> 11) & 0xf;
    const echo = QR | (opcode << 11) | (flags & (RD | CD));
    if (opcode !== 0) {
      this.counters.notimp++;
      // RFC 6891 section 7: a request with an OPT record gets one back, or the asker takes it
      // that EDNS is not spoken here (dig: 'EDNS query returned status NOTIMP').
      return headerOnly(
        id,
        echo | RCODE.NOTIMP,
        query.readUInt16BE(10) > 0 && carriesOpt(query) ? OPT : null,
      );
    }
    const qd = query.readUInt16BE(4);
    const an = query.readUInt16BE(6);
    const ns = query.readUInt16BE(8);
    const ar = query.readUInt16BE(10);
    if (query.length > MAX_QUERY_BYTES) return this.#formerr(id, echo);
    // RFC 6891 section 7: a FORMERR for something other than the OPT itself carries one back.
    const optBack = () => (ar > 0 && carriesOpt(query) ? OPT : null);
    if (qd !== 1 || an !== 0 || ns > 1 || ar > 4) return this.#formerr(id, echo, optBack());
    const q = readQuestion(query);
    if (!q) return this.#formerr(id, echo, optBack());
    // An IXFR carries the SOA its asker holds in the authority section (RFC 1995): a well-formed
    // query, refused below as AXFR is. Any other query has no authority records.
    if (ns === 1 && q.qtype !== TYPE.IXFR) return this.#formerr(id, echo, optBack());
    let edns: Edns | null = null;
    let tsig: Answer | undefined;
    if (ar > 0 || q.raw.length + 12 !== query.length) {
      // The rest (OPT, maybe TSIG) through dns-packet: a body it cannot decode is malformed.
      let additionals: Answer[];
      try {
        const decoded = dnsPacket.decode(query);
        additionals = decoded.additionals ?? [];
      } catch {
        // An option badly formatted inside an OPT we can frame is a problem 'with the OPT
        // record itself', whose FORMERR MUST carry an OPT (RFC 6891 section 7).
        return this.#formerr(id, echo, optBack());
      }
      // Bytes past the last record the counts name: not a message of the protocol.
      if (dnsPacket.decode.bytes !== query.length) return this.#formerr(id, echo, optBack());
      const opts = additionals.filter((a) => a.type === 'OPT');
      if (opts.length > 1) return this.#formerr(id, echo, OPT);
      // RFC 8945 section 5.2: a TSIG record is the last of the additional section, and the only
      // one; anywhere else, FORMERR.
      const tsigs = additionals.filter((a) => a.type === 'TSIG');
      if (tsigs.length > 1 || (tsigs.length === 1 && additionals.at(-1) !== tsigs[0]))
        return this.#formerr(id, echo, optBack());
      tsig = tsigs[0];
      const opt = opts[0] as
        | (Answer & { udpPayloadSize?: number; ednsVersion?: number; flags?: number })
        | undefined;
      if (opt) {
        if (opt.name !== '.') return this.#formerr(id, echo, OPT);
        edns = {
          udpSize: opt.udpPayloadSize ?? 512,
          version: opt.ednsVersion ?? 0,
          dnssecOk: ((opt.flags ?? 0) & 0x8000) !== 0,
        };
      }
    }
    if (tsig) {
      // RFC 8945 section 5.2.2: a server that does not know the key (this one holds none) MUST
      // answer NOTAUTH with TSIG error BADKEY, unsigned (section 5.3.2: MAC size 0).
      const badkey = tsigError(tsig, BADKEY, id);
      if (!badkey) return this.#formerr(id, echo, optBack());
      this.counters.notauth++;
      const opt = edns ? [edns.dnssecOk ? OPT_DO : OPT] : EMPTY;
      return assemble(id, echo | RCODE.NOTAUTH, q.raw, EMPTY, EMPTY, [...opt, badkey]);
    }
    if (edns && edns.version > 0) {
      this.counters.badvers++;
      // BADVERS is 16: its upper 8 bits ride in the OPT record, its low 4 (0) in the header.
      return assemble(id, echo, q.raw, EMPTY, EMPTY, [OPT_BADVERS]);
    }
    const r: Reply = {
      id,
      flags: echo,
      question: q.raw,
      // RFC 3225: the DO bit of the query is copied into the response (we sign nothing).
      opt: edns ? (edns.dnssecOk ? OPT_DO : OPT) : null,
      limit:
        transport === 'tcp'
          ? 65_535
          : Math.min(
              edns ? Math.min(MAX_UDP_PAYLOAD, Math.max(512, edns.udpSize)) : 512,
              Math.max(12 + q.raw.length + 1 + OPT.body.length, AMPLIFICATION_FACTOR * query.length),
            ),
    };
    switch (q.qtype) {
      case TYPE.OPT:
      case TYPE.TSIG:
      case TYPE.TKEY:
        // Meta-types: records of the message itself, never data to ask for. OPT lives only in
        // the additional section (RFC 6891 section 6.1.1), TSIG only as its last record
        // (RFC 8945 section 5.2: anywhere else, FORMERR); TKEY (RFC 2930) negotiates a key with
        // a server that holds keys, and this one holds none (a TKEY query signed with a key
        // got NOTAUTH/BADKEY above, RFC 8945 section 5.2.2). BIND answers FORMERR to all three.
        this.counters.formerr++;
        return this.#finish(r, RCODE.FORMERR, EMPTY, EMPTY, EMPTY);
      case TYPE.MAILA:
      case TYPE.MAILB:
        // RFC 1035 section 3.2.3: MAILA is obsolete (MX replaced it), MAILB experimental; not
        // implemented here (nor in BIND).
        this.counters.notimp++;
        return this.#finish(r, RCODE.NOTIMP, EMPTY, EMPTY, EMPTY);
    }
    if (q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY) return this.#refused(r);

    const zone = view.zoneLabels;
    const rel = q.labels.length - zone.length;
    if (rel < 0) return this.#refused(r);
    for (let i = 0; i < zone.length; i++) if (q.labels[rel + i] !== zone[i]) return this.#refused(r);
    if (q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return this.#refused(r);

    const label = rel === 0 ? '' : rel === 1 ? q.labels[0]! : null;
    const entry = label === null ? undefined : view.names.get(label);
    const records = recordsOf(view);
    if (label === null || !entry) {
      this.counters.nxdomain++;
      return this.#finish(r, RCODE.NXDOMAIN | AA, EMPTY, [records.soa()], EMPTY);
    }

    const owner = rel === 0 ? view.settings.zone : `${label}.${view.settings.zone}`;
    let answers: Rr[] = EMPTY;
    let additionals: Rr[] = EMPTY;
    switch (q.qtype) {
      case TYPE.A:
      case TYPE.AAAA: {
        const pool = q.qtype === TYPE.A ? entry.a : entry.aaaa;
        if (!pool) break;
        const one = view.settings.mode === 'one' && entry.kind !== 'ns';
        const picked = this.#pick(r, pool, one ? 1 : pool.bodies.length, owner, transport);
        if (picked === null) return this.#truncated(r, RCODE.NOERROR | AA);
        answers = picked;
        break;
      }
      case TYPE.SOA:
        if (entry.kind === 'apex') answers = [records.soa()];
        break;
      case TYPE.NS:
        if (entry.kind === 'apex') {
          answers = [records.ns()];
          const nsName = `${NS_LABEL}.${view.settings.zone}`;
          additionals = view.names.get(NS_LABEL)!.targets.map((t) => records.address(nsName, t));
        }
        break;
      case TYPE.ANY:
        // RFC 8482: a small answer rather than everything (ANY is a favourite of amplifiers).
        answers = [records.hinfo(owner)];
        break;
    }
    if (answers.length === 0) {
      this.counters.nodata++;
      return this.#finish(r, RCODE.NOERROR | AA, EMPTY, [records.soa()], EMPTY);
    }
    this.counters.noerror++;
    return this.#finish(r, RCODE.NOERROR | AA, answers, EMPTY, additionals);
  }

  /**
   * `want` records of a pool, this query's pick first and the rest after it in the pool's order
   * (wrapping round). When they do not fit the answer's limit: over UDP null (TC: ask again
   * over TCP), over TCP as many as 64 KiB holds (no larger answer exists to ask for). Only the
   * records answered are touched: the pick is O(log n), and nothing is sorted or filtered.
   */
  #pick(r: Reply, pool: Pool, want: number, owner: string, transport: Transport): Rr[] | null {
    const n = pool.bodies.length;
    // The owner of each is the question's name, written as a 2-byte pointer to it; a pool is
    // of one family, so every record has the same size.
    const each = 2 + pool.bodies[0]!.length;
    const fixed = 12 + r.question.length + (r.opt ? 1 + r.opt.body.length : 0);
    if (fixed + want * each > r.limit) {
      // A TC over TCP, with no records, was the answer past ~4,090 IPv4 replicas in mode all:
      // a resolver has nowhere left to ask. The rotation still moves the window round.
      if (transport === 'udp') return null;
      want = Math.floor((r.limit - fixed) / each);
    }
    const start = n === 1 ? 0 : pool.rotation.next();
    const out = new Array<Rr>(want);
    for (let i = 0, at = start; i < want; i++, at = at + 1 === n ? 0 : at + 1)
      out[i] = { owner, body: pool.bodies[at]! };
    return out;
  }

  /** The full answer when it fits the limit, else TC with the question alone (and OPT). */
  #finish(r: Reply, flags: number, answers: Rr[], authorities: Rr[], additionals: Rr[]): Buffer {
    const extra = r.opt ? [...additionals, r.opt] : additionals;
    // Compressed, the size is known once written.
    const full = assemble(r.id, r.flags | flags, r.question, answers, authorities, extra);
    if (full.length <= r.limit) return full;
    return this.#truncated(r, flags);
  }

  /** TC, with the question alone (and OPT): the answer does not fit. */
  #truncated(r: Reply, flags: number): Buffer {
    this.counters.truncated++;
    return assemble(r.id, r.flags | flags | TC, r.question, EMPTY, EMPTY, r.opt ? [r.opt] : EMPTY);
  }

  #drop(): null {
    this.counters.dropped++;
    return null;
  }

  #formerr(id: number, flags: number, opt: Rr | null = null): Buffer {
    this.counters.formerr++;
    return headerOnly(id, flags | RCODE.FORMERR, opt);
  }

  #refused(r: Reply): Buffer {
    this.counters.refused++;
    return this.#finish(r, RCODE.REFUSED, EMPTY, EMPTY, EMPTY);
  }
}

/** What every answer to one query shares. */
interface Reply {
  id: number;
  /** QR, the opcode, RD and CD as the query had them. */
  flags: number;
  question: Buffer;
  opt: Rr | null;
  limit: number;
}

const EMPTY: Rr[] = [];

/** The records of one zone view, each encoded once by dns-packet and then reused. */
interface Records {
  address(owner: string, t: Target): Rr;
  soa(): Rr;
  ns(): Rr;
  hinfo(owner: string): Rr;
}

const recordCache = new WeakMap<ZoneView, Records>();

function recordsOf(view: ZoneView): Records {
  let r = recordCache.get(view);
  if (r) return r;
  const s = view.settings;
  const ttl = s.ttl;
  const apex = s.zone;
  const cache = new Map<string, Rr>();
  const once = (key: string, make: () => Answer): Rr => {
    let b = cache.get(key);
    if (!b) {
      b = rr(make());
      // Only names of the view reach here, but keep the cache bounded whatever happens.
      if (cache.size > 10_000) cache.clear();
      cache.set(key, b);
    }
    return b;
  };
  r = {
    address: (owner, t) => ({ owner, body: addressBody(t.address, t.family, ttl) }),
    soa: () =>
      once('SOA', () => ({
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
      })),
    ns: () => once('NS', () => ({ type: 'NS', name: apex, ttl, data: `${NS_LABEL}.${apex}` })),
    hinfo: (owner) =>
      once(`HINFO ${owner}`, () => ({ type: 'HINFO', name: owner, ttl, data: { cpu: 'RFC8482', os: '' } })),
  };
  recordCache.set(view, r);
  return r;
}

function optRecord(extendedRcode: number, flags = 0): Rr {
  return rr({
    type: 'OPT',
    name: '.',
    udpPayloadSize: MAX_UDP_PAYLOAD,
    extendedRcode,
    flags,
  } as unknown as Answer);
}
const OPT = optRecord(0);
const OPT_DO = optRecord(0, 0x8000);
const OPT_BADVERS = optRecord(BADVERS >> 4);

/** A header with no sections (FORMERR, NOTIMP) but the OPT, if any: never larger than what came in. */
function headerOnly(id: number, flags: number, opt: Rr | null = null): Buffer {
  const h = Buffer.alloc(12 + (opt ? 1 + opt.body.length : 0));
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  if (opt) {
    h.writeUInt16BE(1, 10);
    // The OPT's owner is the root: one zero byte (Buffer.alloc left it zero).
    opt.body.copy(h, 13);
  }
  return h;
}

/**
 * The unsigned TSIG record answering `tsig` with `error` (RFC 8945 sections 4.2, 5.3.2): its key
 * name, algorithm, time signed and fudge, no MAC, the query's ID. Null when its RDATA is not a
 * TSIG's (the algorithm name is plain, RFC 8945 section 4.2 allows no compression there).
 */
function tsigError(tsig: Answer, error: number, id: number): Rr | null {
  const rdata = (tsig as { data?: unknown }).data;
  if (!Buffer.isBuffer(rdata)) return null;
  let at = 0;
  for (let len = rdata[at]; len !== 0; len = rdata[at]) {
    if (len === undefined || len > 63) return null;
    at += 1 + len;
  }
  at++;
  // Time signed (6), fudge (2), MAC size (2), the MAC, original ID (2), error (2), other length (2).
  if (at + 10 > rdata.length) return null;
  const macSize = rdata.readUInt16BE(at + 8);
  const otherAt = at + 10 + macSize + 4;
  if (otherAt + 2 > rdata.length || otherAt + 2 + rdata.readUInt16BE(otherAt) !== rdata.length) return null;
  const out = Buffer.alloc(at + 16);
  rdata.copy(out, 0, 0, at + 8);
  out.writeUInt16BE(0, at + 8);
  out.writeUInt16BE(id, at + 10);
  out.writeUInt16BE(error, at + 12);
  out.writeUInt16BE(0, at + 14);
  const record = rr({ type: 'TSIG', name: tsig.name, class: 'ANY', ttl: 0, data: out } as unknown as Answer);
  return { ...record, plain: true };
}

/**
 * True when the additional section holds a record of type OPT whose bytes are all there, read
 * record by record (whatever its options hold, and whatever comes after it): an OPT the
 * requester can be answered with one of its own.
 */
function carriesOpt(query: Buffer): boolean {
  let off = 12;
  /** The offset past the name at `at`, or -1 when it runs off the end or is not a name. */
  const skipName = (at: number): number => {
    for (;;) {
      const len = query[at];
      if (len === undefined) return -1;
      if (len === 0) return at + 1;
      if ((len & 0xc0) === 0xc0) return at + 2 <= query.length ? at + 2 : -1;
      if (len > 63) return -1;
      at += 1 + len;
    }
  };
  for (let i = query.readUInt16BE(4); i > 0; i--) {
    off = skipName(off);
    if (off < 0 || off + 4 > query.length) return false;
    off += 4;
  }
  const records = query.readUInt16BE(6) + query.readUInt16BE(8) + query.readUInt16BE(10);
  for (let i = 0; i < records; i++) {
    off = skipName(off);
    if (off < 0 || off + 10 > query.length) return false;
    const end = off + 10 + query.readUInt16BE(off + 8);
    if (end > query.length) return false;
    if (i >= records - query.readUInt16BE(10) && query.readUInt16BE(off) === TYPE.OPT) return true;
    off = end;
  }
  return false;
}

/** A compression pointer reaches the first 16 KiB of a message (14 bits of offset). */
const MAX_POINTER = 0x3fff;

/**
 * Header, the question's raw bytes, then the sections' records, each owner name compressed
 * (RFC 1035 section 4.1.4): the longest suffix already written, the question's included, is a
 * pointer to it. Names compare without regard to case, so an answer's owner may point at a
 * question in mixed case (0x20), as BIND's and NSD's do.
 */
function assemble(
  id: number,
  flags: number,
  question: Buffer,
  answers: Rr[],
  authorities: Rr[],
  additionals: Rr[],
): Buffer {
  let size = 12 + question.length;
  for (const b of answers) size += b.owner.length + 2 + b.body.length;
  for (const b of authorities) size += b.owner.length + 2 + b.body.length;
  for (const b of additionals) size += b.owner.length + 2 + b.body.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answers.length, 6);
  out.writeUInt16BE(authorities.length, 8);
  out.writeUInt16BE(additionals.length, 10);
  let off = 12 + question.copy(out, 12);
  if (answers.length + authorities.length + additionals.length === 0) return out.subarray(0, off);
  // Each suffix written so far (lowercase, 'uk.corp.example', 'corp.example', 'example') → where.
  const written = new Map<string, number>();
  // The question's name: its labels are plain (readQuestion took no pointer).
  for (let at = 12; out[at]! !== 0; at += 1 + out[at]!) written.set(nameAt(out, at), at);
  for (const section of [answers, authorities, additionals])
    for (const r of section) {
      off = writeName(out, off, r.owner, r.plain ? new Map() : written);
      off += r.body.copy(out, off);
    }
  return out.subarray(0, off);
}

/** The plain (pointer-free) name at `at`, lowercased, labels joined by dots. */
function nameAt(buf: Buffer, at: number): string {
  const labels: string[] = [];
  for (let len = buf[at]!; len !== 0; at += 1 + len, len = buf[at]!)
    labels.push(asciiLower(buf, at + 1, at + 1 + len));
  return labels.join('.');
}

/** Writes `name` at `off`, its longest known suffix as a pointer; returns the offset past it. */
function writeName(out: Buffer, off: number, name: string, written: Map<string, number>): number {
  let rest = name;
  while (rest !== '') {
    const at = written.get(rest);
    if (at !== undefined) {
      out.writeUInt16BE(0xc000 | at, off);
      return off + 2;
    }
    if (off <= MAX_POINTER) written.set(rest, off);
    const dot = rest.indexOf('.');
    const label = dot === -1 ? rest : rest.slice(0, dot);
    out[off] = label.length;
    off += 1 + out.write(label, off + 1, 'latin1');
    rest = dot === -1 ? '' : rest.slice(dot + 1);
  }
  out[off] = 0;
  return off + 1;
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
