import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { facts, query, replica, settings, standardView } from './fixtures.js';
import { AMPLIFICATION_FACTOR, RCODE, Responder } from './responder.js';
import { buildZoneView } from './zone-view.js';

const rcodeOf = (b: Buffer) => b.readUInt16BE(2) & 0xf;
const flag = (b: Buffer, bit: number) => (b.readUInt16BE(2) & bit) !== 0;
const AA = 0x0400;
const TC = 0x0200;

function ask(r: Responder, view: ReturnType<typeof standardView>, q: Buffer, t: 'udp' | 'tcp' = 'udp') {
  const res = r.respond(q, t, view);
  expect(res).not.toBeNull();
  return { buf: res!, pkt: dnsPacket.decode(res!) };
}

const data = (pkt: dnsPacket.Packet, section: 'answers' | 'authorities' | 'additionals' = 'answers') =>
  (pkt[section] ?? []).map((a) => `${a.type} ${'data' in a ? JSON.stringify(a.data) : ''}`);

describe('Responder: names', () => {
  const view = standardView();

  it('answers a region with its replicas, authoritatively, echoing id and RD', () => {
    const { buf, pkt } = ask(new Responder(), view, query('uk.corp.example', 'A', { id: 777 }));
    expect(pkt.id).toBe(777);
    expect(rcodeOf(buf)).toBe(RCODE.NOERROR);
    expect(flag(buf, AA)).toBe(true);
    expect(pkt.flag_rd).toBe(true);
    expect(pkt.flag_ra).toBe(false);
    expect(pkt.answers!.map((a) => (a as any).data).sort()).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(pkt.answers!.every((a: any) => a.ttl === 5 && a.name === 'uk.corp.example')).toBe(true);
  });

  it('answers a replica by name, the apex with everyone, AAAA for IPv6', () => {
    const r = new Responder();
    expect(data(ask(r, view, query('uk-london.corp.example')).pkt)).toEqual(['A "10.0.1.1"']);
    expect(ask(r, view, query('corp.example')).pkt.answers).toHaveLength(3);
    expect(data(ask(r, view, query('corp.example', 'AAAA')).pkt)).toEqual(['AAAA "2001:db8::1"']);
    expect(data(ask(r, view, query('us.corp.example', 'AAAA')).pkt)).toEqual(['AAAA "2001:db8::1"']);
  });

  it('answers SOA and NS at the apex, with the name server address as glue', () => {
    const r = new Responder();
    const soa = ask(r, view, query('corp.example', 'SOA')).pkt.answers![0] as any;
    expect(soa.type).toBe('SOA');
    expect(soa.data).toMatchObject({
      mname: 'ns.corp.example',
      rname: 'hostmaster.corp.example',
      serial: 7,
      minimum: 5,
    });
    const ns = ask(r, view, query('corp.example', 'NS')).pkt;
    expect(data(ns)).toEqual(['NS "ns.corp.example"']);
    expect(data(ns, 'additionals')).toEqual(['A "127.0.0.1"']);
    expect(data(ask(r, view, query('ns.corp.example')).pkt)).toEqual(['A "127.0.0.1"']);
  });

  it('answers with the configured TTL (--dns-ttl), negative answers too', () => {
    const view30 = standardView({ ttl: 30 });
    const { pkt } = ask(new Responder(), view30, query('uk.corp.example'));
    expect(pkt.answers!.map((a: any) => a.ttl)).toEqual([30, 30]);
    const nx = ask(new Responder(), view30, query('nowhere.corp.example')).pkt;
    expect(nx.authorities![0]).toMatchObject({ type: 'SOA' });
    expect((nx.authorities![0] as any).data.minimum).toBe(30);
  });

  it('matches names whatever their case, and echoes the question exactly (0x20)', () => {
    const q = query('uK.CoRp.ExAmPlE');
    const { buf, pkt } = ask(new Responder(), view, q);
    expect(buf.subarray(12, q.length)).toEqual(q.subarray(12));
    expect(pkt.answers).toHaveLength(2);
  });

  it('answers NXDOMAIN with the SOA for unknown names and names below known ones', () => {
    for (const name of ['nowhere.corp.example', 'a.uk.corp.example', 'x.y.z.corp.example']) {
      const { buf, pkt } = ask(new Responder(), view, query(name));
      expect(rcodeOf(buf)).toBe(RCODE.NXDOMAIN);
      expect(flag(buf, AA)).toBe(true);
      expect(pkt.answers).toEqual([]);
      expect(pkt.authorities![0]).toMatchObject({ type: 'SOA', name: 'corp.example', ttl: 5 });
    }
  });

  it('answers NODATA with the SOA for a type the name has none of', () => {
    for (const [name, type] of [
      ['uk.corp.example', 'TXT'],
      ['uk.corp.example', 'AAAA'],
      ['us-nyc.corp.example', 'A'],
      ['uk.corp.example', 'SOA'],
      ['uk.corp.example', 'MX'],
    ] as const) {
      const { buf, pkt } = ask(new Responder(), view, query(name, type));
      expect(rcodeOf(buf), `${name} ${type}`).toBe(RCODE.NOERROR);
      expect(pkt.answers).toEqual([]);
      expect(pkt.authorities![0]!.type).toBe('SOA');
    }
  });

  it('answers NODATA for a region with nobody eligible anywhere', () => {
    const v = buildZoneView(settings(), facts([replica('a', 'uk', '10.0.0.1', { version: 0 })]));
    const { buf, pkt } = ask(new Responder(), v, query('uk.corp.example'));
    expect(rcodeOf(buf)).toBe(RCODE.NOERROR);
    expect(pkt.answers).toEqual([]);
  });

  it('refuses other zones, other classes and zone transfers, without AA', () => {
    const r = new Responder();
    for (const q of [
      query('example.com'),
      query('corp.example.org'),
      query('xcorp.example'),
      query('version.bind', 'TXT', { klass: 3 }),
      query('corp.example', 'A', { klass: 3 }),
      query('corp.example', 252),
      query('corp.example', 251),
    ]) {
      const { buf, pkt } = ask(r, view, q);
      expect(rcodeOf(buf)).toBe(RCODE.REFUSED);
      expect(flag(buf, AA)).toBe(false);
      expect(pkt.answers).toEqual([]);
    }
    expect(r.counters.refused).toBe(7);
  });

  it("refuses an IXFR that carries the asker's SOA, as RFC 1995 sends it; other queries with authority records are malformed", () => {
    const r = new Responder();
    const soa = {
      type: 'SOA' as const,
      name: 'corp.example',
      data: {
        mname: 'ns.corp.example',
        rname: 'hostmaster.corp.example',
        serial: 1,
        refresh: 3600,
        retry: 600,
        expiration: 86400,
        minimum: 5,
      },
    };
    const withSoa = (type: 'IXFR' | 'A') =>
      dnsPacket.encode({
        type: 'query',
        id: 9,
        questions: [{ type, name: 'corp.example' }],
        authorities: [soa],
      });
    const ixfr = ask(r, view, withSoa('IXFR'));
    expect(rcodeOf(ixfr.buf)).toBe(RCODE.REFUSED);
    expect(ixfr.pkt.id).toBe(9);
    expect(rcodeOf(ask(r, view, withSoa('A')).buf)).toBe(RCODE.FORMERR);
  });

  it('answers FORMERR to the meta-types OPT, TSIG and TKEY as questions, NOTIMP to MAILA and MAILB', () => {
    const r = new Responder();
    for (const [type, rcode] of [
      [41, RCODE.FORMERR],
      [250, RCODE.FORMERR],
      [249, RCODE.FORMERR],
      [253, RCODE.NOTIMP],
      [254, RCODE.NOTIMP],
    ] as const) {
      for (const edns of [undefined, 1232]) {
        const q = query('corp.example', type, edns ? { edns } : {});
        const { buf, pkt } = ask(r, view, q);
        expect(rcodeOf(buf), `type ${type}`).toBe(rcode);
        expect(flag(buf, AA)).toBe(false);
        // The question comes back as it was asked, and the OPT when there was one.
        expect(buf.subarray(12, 12 + 18)).toEqual(q.subarray(12, 12 + 18));
        expect(pkt.answers).toEqual([]);
        expect(pkt.authorities).toEqual([]);
        expect(pkt.additionals!.map((a) => a.type)).toEqual(edns ? ['OPT'] : []);
      }
    }
    expect(r.counters.formerr).toBe(6);
    expect(r.counters.notimp).toBe(4);
  });

  it('answers a signed query NOTAUTH with an unsigned TSIG saying BADKEY (RFC 8945 5.2.2), it holds no keys', () => {
    const alg = Buffer.from([11, ...Buffer.from('hmac-sha256'), 0]);
    const mac = Buffer.alloc(32, 7);
    const rdata = Buffer.concat([
      alg,
      Buffer.from([0, 0, 0x6a, 0x0b, 0x2c, 0x3d]), // time signed
      Buffer.from([1, 0x2c]), // fudge 300
      Buffer.from([0, 32]),
      mac,
      Buffer.from([0x30, 0x39]), // original ID 12345
      Buffer.from([0, 0, 0, 0]), // error, other length
    ]);
    const tsig = { type: 'TSIG', name: 'k1', class: 'ANY', ttl: 0, data: rdata } as any;
    const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232 } as any;
    const signed = (additionals: any[]) =>
      dnsPacket.encode({
        type: 'query',
        id: 12345,
        questions: [{ type: 'A', name: 'uk.corp.example' }],
        additionals,
      });
    const r = new Responder();
    for (const extra of [[], [opt]]) {
      const { buf, pkt } = ask(r, view, signed([...extra, tsig]));
      expect(rcodeOf(buf)).toBe(RCODE.NOTAUTH);
      expect(pkt.answers).toEqual([]);
      expect(pkt.questions).toEqual([{ name: 'uk.corp.example', type: 'A', class: 'IN' }]);
      const last = pkt.additionals!.at(-1) as any;
      expect(last).toMatchObject({ type: 'TSIG', name: 'k1', class: 'ANY', ttl: 0 });
      expect(Buffer.from(last.data)).toEqual(
        Buffer.concat([
          alg,
          rdata.subarray(alg.length, alg.length + 8),
          Buffer.from([0, 0, 0x30, 0x39, 0, 17, 0, 0]),
        ]),
      );
      expect(pkt.additionals!.map((a) => a.type)).toEqual([...extra.map(() => 'OPT'), 'TSIG']);
    }
    expect(r.counters.notauth).toBe(2);
    // TSIG anywhere but last, twice, or with RDATA that is not a TSIG's: FORMERR.
    for (const bad of [[tsig, opt], [tsig, tsig], [{ ...tsig, data: rdata.subarray(0, 20) }]]) {
      expect(rcodeOf(ask(r, view, signed(bad)).buf)).toBe(RCODE.FORMERR);
    }
  });

  it('answers ANY with the small RFC 8482 HINFO', () => {
    const { pkt } = ask(new Responder(), view, query('corp.example', 255));
    expect(data(pkt)).toEqual(['HINFO {"cpu":"RFC8482","os":""}']);
  });
});

describe('Responder: modes and rotation', () => {
  const three = (o = {}, loads = [0, 0, 0]) =>
    buildZoneView(
      settings(o),
      facts(
        loads.map((l, i) =>
          replica(`uk-${i}`, 'uk', `127.0.0.${i + 2}`, {
            load: { requestsPerSecond: 0, openConnections: l },
          }),
        ),
      ),
    );
  const tally = (v: ReturnType<typeof three>, n: number) => {
    const r = new Responder();
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const first = (ask(r, v, query('uk.corp.example')).pkt.answers![0] as any).data as string;
      counts[first] = (counts[first] ?? 0) + 1;
    }
    return counts;
  };

  it('in mode one answers one record, spread evenly over equal replicas', () => {
    const v = three({ mode: 'one' });
    expect(ask(new Responder(), v, query('uk.corp.example')).pkt.answers).toHaveLength(1);
    expect(Object.values(tally(v, 3000))).toEqual([1000, 1000, 1000]);
  });

  it('in mode all answers every record, rotating which comes first', () => {
    const v = three();
    expect(ask(new Responder(), v, query('uk.corp.example')).pkt.answers).toHaveLength(3);
    expect(Object.values(tally(v, 3000))).toEqual([1000, 1000, 1000]);
  });

  it('in mode all answers the pick first, then the others in turn after it', () => {
    const v = three();
    const r = new Responder();
    const order = () => ask(r, v, query('uk.corp.example')).pkt.answers!.map((a: any) => a.data.slice(-1));
    expect([order(), order(), order(), order()].map((o) => o.join(''))).toEqual(['234', '342', '423', '234']);
  });

  it('carries the rotation into a rebuilt view: rebuilt before every query, answers stay even', () => {
    const f = facts(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((ip, i) => replica(`uk-${i}`, 'uk', ip)));
    let v = buildZoneView(settings({ mode: 'one' }), f);
    const r = new Responder();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      // The load a replica reports moves on each rebuild, as pings bring it in.
      const moved = f.replicas.map((x, j) =>
        j === i % 3 ? { ...x, load: { requestsPerSecond: i % 2, openConnections: 0 } } : x,
      );
      v = buildZoneView(settings({ mode: 'one' }), { ...f, replicas: moved }, v);
      const first = (ask(r, v, query('uk.corp.example')).pkt.answers![0] as any).data as string;
      counts[first] = (counts[first] ?? 0) + 1;
    }
    for (const c of Object.values(counts)) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(30);
  });

  it('in mode one at 4,000 replicas answers each of them once in 4,000 queries', () => {
    const v = buildZoneView(
      settings({ mode: 'one' }),
      facts(
        Array.from({ length: 4000 }, (_, i) => replica(`r-${i}`, `r${i % 40}`, `10.1.${i >> 8}.${i & 255}`)),
      ),
    );
    const r = new Responder();
    const seen = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const { pkt } = ask(r, v, query('corp.example'));
      expect(pkt.answers).toHaveLength(1);
      seen.add((pkt.answers![0] as any).data);
    }
    expect(seen.size).toBe(4000);
  });

  it('gives a replica with triple load clearly fewer answers', () => {
    const counts = tally(three({ mode: 'one' }, [60, 20, 20]), 3000);
    expect(counts['127.0.0.2']!).toBeLessThan(0.6 * counts['127.0.0.3']!);
    expect(Math.abs(counts['127.0.0.3']! - counts['127.0.0.4']!)).toBeLessThanOrEqual(1);
  });
});

describe('Responder: EDNS, truncation, amplification', () => {
  const many = (n: number, mode: 'all' | 'one' = 'all') =>
    buildZoneView(
      settings({ mode }),
      facts(Array.from({ length: n }, (_, i) => replica(`uk-${i}`, 'uk', `10.0.${i >> 8}.${i & 255}`))),
    );

  it('answers EDNS with an OPT record offering 1232 bytes', () => {
    const { pkt } = ask(new Responder(), standardView(), query('uk.corp.example', 'A', { edns: 4096 }));
    const opt = pkt.additionals!.find((a) => a.type === 'OPT') as any;
    expect(opt.udpPayloadSize).toBe(1232);
  });

  it('copies the DO bit of the query into its OPT record (RFC 3225), and sets no other flag', () => {
    const r = new Responder();
    const doOf = (q: Buffer) =>
      (ask(r, standardView(), q).pkt.additionals!.find((a) => a.type === 'OPT') as any).flags;
    expect(doOf(query('uk.corp.example', 'A', { edns: 1232, dnssecOk: true }))).toBe(dnsPacket.DNSSEC_OK);
    expect(doOf(query('nope.corp.example', 'A', { edns: 1232, dnssecOk: true }))).toBe(dnsPacket.DNSSEC_OK);
    expect(doOf(query('uk.corp.example', 'A', { edns: 1232 }))).toBe(0);
  });

  it('answers BADVERS to an EDNS version it does not speak', () => {
    const { buf, pkt } = ask(
      new Responder(),
      standardView(),
      query('uk.corp.example', 'A', { edns: 1232, ednsVersion: 1 }),
    );
    expect(rcodeOf(buf)).toBe(0);
    expect((pkt.additionals![0] as any).extendedRcode).toBe(1);
    expect(pkt.answers).toEqual([]);
  });

  it('sets TC over UDP when the answer exceeds 512 bytes without EDNS, and answers in full over TCP', () => {
    const v = many(40);
    const udp = ask(new Responder(), v, query('uk.corp.example'));
    expect(flag(udp.buf, TC)).toBe(true);
    expect(udp.pkt.answers).toEqual([]);
    expect(udp.buf.length).toBeLessThan(100);
    const tcp = ask(new Responder(), v, query('uk.corp.example'), 'tcp');
    expect(flag(tcp.buf, TC)).toBe(false);
    expect(tcp.pkt.answers).toHaveLength(40);
  });

  it('honours the EDNS size up to 1232, and never answers over UDP beyond 10x the query', () => {
    const v = many(60);
    const q = query('uk.corp.example', 'A', { edns: 4096 });
    const { buf } = ask(new Responder(), v, q);
    expect(flag(buf, TC)).toBe(true);
    const small = many(12);
    const ok = ask(new Responder(), small, q);
    expect(flag(ok.buf, TC)).toBe(false);
    expect(ok.pkt.answers).toHaveLength(12);
    expect(ok.buf.length).toBeLessThanOrEqual(AMPLIFICATION_FACTOR * q.length);
  });

  it('compresses owner names (RFC 1035 4.1.4): 16 replicas answer a query without EDNS in full', () => {
    const v = many(16);
    for (const name of ['uk.corp.example', 'corp.example', 'Uk.CORP.example']) {
      const q = query(name);
      const { buf, pkt } = ask(new Responder(), v, q);
      expect(flag(buf, TC), name).toBe(false);
      expect(pkt.answers).toHaveLength(16);
      // Every owner is a pointer to the question's name: 2 + 10 + 4 bytes an A record.
      expect(buf.length).toBe(q.length + 16 * 16);
      for (let i = 0; i < 16; i++) expect(buf.readUInt16BE(q.length + 16 * i)).toBe(0xc000 | 12);
      expect(pkt.answers!.every((a) => a.name === name)).toBe(true);
    }
  });

  it('compresses suffixes of the question: the SOA of an NXDOMAIN, the glue of NS', () => {
    const r = new Responder();
    const nx = ask(r, standardView(), query('nowhere.corp.example'));
    // 'corp.example' begins after the 8 bytes of 'nowhere' and its length byte.
    expect(nx.buf.readUInt16BE(query('nowhere.corp.example').length)).toBe(0xc000 | 20);
    expect(nx.pkt.authorities![0]).toMatchObject({ type: 'SOA', name: 'corp.example' });
    const ns = ask(r, standardView(), query('corp.example', 'NS'));
    expect(ns.pkt.additionals![0]).toMatchObject({ type: 'A', name: 'ns.corp.example', data: '127.0.0.1' });
    // The glue's owner: the label 'ns', then a pointer to the question's name.
    const glue = ns.buf.length - 14 - 5;
    expect(ns.buf.subarray(glue, glue + 5)).toEqual(Buffer.from([2, 0x6e, 0x73, 0xc0, 12]));
  });

  it('still truncates what does not fit compressed: past 512 bytes, or past 10x the query', () => {
    // 33 + 31 × 16 = 529 bytes, over 512.
    const over = ask(new Responder(), many(31), query('uk.corp.example'));
    expect(flag(over.buf, TC)).toBe(true);
    expect(over.pkt.answers).toEqual([]);
    // With EDNS the 44-byte query may get 440 bytes: 30 records (33 + 480 + 11) do not fit.
    const edns = ask(new Responder(), many(30), query('uk.corp.example', 'A', { edns: 1232 }));
    expect(flag(edns.buf, TC)).toBe(true);
    // corp.example: a 30-byte query may get 300 bytes: 16 records (286) fit, 17 (302) do not.
    expect(flag(ask(new Responder(), many(17), query('corp.example')).buf, TC)).toBe(true);
    expect(flag(ask(new Responder(), many(17), query('corp.example'), 'tcp').buf, TC)).toBe(false);
  });

  it('answers over TCP as many records as 64 KiB holds, past ~4,090 replicas, rotating the window', () => {
    const v = many(4200);
    const r = new Responder();
    for (const [name, fit] of [
      // 65,535 bytes: the header and question (30 or 33 bytes), then 16 bytes a record.
      ['corp.example', 4094],
      ['uk.corp.example', 4093],
    ] as const) {
      const first = ask(r, v, query(name), 'tcp');
      expect(flag(first.buf, TC)).toBe(false);
      expect(first.pkt.answers).toHaveLength(fit);
      expect(first.buf.length).toBeLessThanOrEqual(65_535);
      const second = ask(r, v, query(name), 'tcp');
      expect((second.pkt.answers![0] as any).data).not.toBe((first.pkt.answers![0] as any).data);
    }
    // Over UDP the answer is still TC, with no records: the client asks again over TCP.
    const udp = ask(r, v, query('corp.example', 'A', { edns: 1232 }));
    expect(flag(udp.buf, TC)).toBe(true);
    expect(udp.pkt.answers).toEqual([]);
  });

  it('answers over TCP as many AAAA records as 64 KiB holds', () => {
    const v = buildZoneView(
      settings(),
      facts(
        Array.from({ length: 2400 }, (_, i) => replica(`uk-${i}`, 'uk', `[2001:db8::${i.toString(16)}]`)),
      ),
    );
    const { buf, pkt } = ask(new Responder(), v, query('uk.corp.example', 'AAAA'), 'tcp');
    expect(flag(buf, TC)).toBe(false);
    // 28 bytes an AAAA record.
    expect(pkt.answers).toHaveLength(Math.floor((65_535 - 33) / 28));
  });

  it('in mode one never truncates, however many replicas', () => {
    const { buf, pkt } = ask(new Responder(), many(200, 'one'), query('uk.corp.example'));
    expect(flag(buf, TC)).toBe(false);
    expect(pkt.answers).toHaveLength(1);
  });
});

describe('Responder: malformed input', () => {
  const view = standardView();

  it('stays silent for packets too short to be a query, and for responses', () => {
    const r = new Responder();
    expect(r.respond(Buffer.alloc(0), 'udp', view)).toBeNull();
    expect(r.respond(Buffer.alloc(11), 'udp', view)).toBeNull();
    const resp = query('uk.corp.example');
    resp.writeUInt16BE(resp.readUInt16BE(2) | 0x8000, 2);
    expect(r.respond(resp, 'udp', view)).toBeNull();
    expect(r.counters.dropped).toBe(3);
  });

  it('answers FORMERR to a readable header with a bad body, with nothing but the header', () => {
    const r = new Responder();
    const cases = [
      Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), // one question, none there
      Buffer.concat([query('uk.corp.example').subarray(0, 20)]), // cut short
      (() => {
        const q = query('uk.corp.example');
        q.writeUInt16BE(2, 4); // two questions
        return q;
      })(),
      (() => {
        const q = query('uk.corp.example');
        q.writeUInt16BE(1, 6); // an answer in a query
        return q;
      })(),
      Buffer.concat([
        Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        Buffer.from([0xc0, 0x0c, 0, 1, 0, 1]),
      ]), // pointer loop
      Buffer.concat([
        Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        Buffer.from([0xc0, 0x12, 0, 1, 0, 1, 2, 0x75, 0x6b, 0]),
      ]), // forward pointer
      Buffer.concat([
        Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        Buffer.from([2, 0x75, 0x6b, 0xc0, 0x0c, 0, 1, 0, 1]),
      ]), // pointer back to its own start
      (() => {
        const q = query('uk.corp.example', 'A', { edns: 1232 });
        return q.subarray(0, q.length - 3); // OPT cut short
      })(),
      Buffer.alloc(5000, 0), // oversized
    ];
    for (const q of cases) {
      const res = r.respond(q, 'udp', view)!;
      expect(res).not.toBeNull();
      expect(res.length).toBe(12);
      expect(rcodeOf(res)).toBe(RCODE.FORMERR);
      expect(res.readUInt16BE(0)).toBe(q.readUInt16BE(0));
    }
  });

  it('answers NOTIMP to other opcodes', () => {
    const q = query('uk.corp.example');
    q.writeUInt16BE(q.readUInt16BE(2) | (5 << 11), 2); // UPDATE
    const res = new Responder().respond(q, 'udp', view)!;
    expect(rcodeOf(res)).toBe(RCODE.NOTIMP);
    expect((res.readUInt16BE(2) >> 11) & 0xf).toBe(5);
  });

  it('answers NOTIMP to an EDNS request with an OPT record (RFC 6891 section 7), and without to others', () => {
    const q = query('uk.corp.example', 'SOA', { edns: 1232 });
    q.writeUInt16BE(q.readUInt16BE(2) | (4 << 11), 2); // NOTIFY
    const res = new Responder().respond(q, 'udp', view)!;
    expect(rcodeOf(res)).toBe(RCODE.NOTIMP);
    const pkt = dnsPacket.decode(res) as any;
    expect(pkt.additionals.map((a: any) => [a.type, a.udpPayloadSize])).toEqual([['OPT', 1232]]);
    expect(res.length).toBeLessThanOrEqual(q.length);
    const plain = query('uk.corp.example');
    plain.writeUInt16BE(plain.readUInt16BE(2) | (4 << 11), 2);
    expect(new Responder().respond(plain, 'udp', view)!.length).toBe(12);
  });

  it('answers FORMERR to bytes past the records the counts name', () => {
    for (const edns of [undefined, 1232]) {
      const q = Buffer.concat([query('uk.corp.example', 'A', edns ? { edns } : {}), Buffer.from([1, 2, 3])]);
      const res = new Responder().respond(q, 'udp', view)!;
      expect(rcodeOf(res), `edns ${edns}`).toBe(RCODE.FORMERR);
    }
  });

  it('answers FORMERR with an OPT record to a malformed request whose OPT is readable (RFC 6891 section 7)', () => {
    const q = query('uk.corp.example', 'A', { edns: 1232 });
    q.writeUInt16BE(1, 6); // an answer count in a query: the rest still decodes
    const twoQuestions = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [
        { type: 'A', name: 'uk.corp.example' },
        { type: 'A', name: 'asia.corp.example' },
      ],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as any],
    });
    for (const bad of [twoQuestions]) {
      const res = new Responder().respond(bad, 'udp', view)!;
      expect(rcodeOf(res)).toBe(RCODE.FORMERR);
      const pkt = dnsPacket.decode(res) as any;
      expect(pkt.additionals.map((a: any) => a.type)).toEqual(['OPT']);
      expect(res.length).toBeLessThanOrEqual(bad.length);
    }
    // An OPT that cannot be read gets none back.
    const cut = q.subarray(0, q.length - 3);
    expect(new Responder().respond(cut, 'udp', view)!.length).toBe(12);
  });

  it('answers FORMERR with an OPT record to a problem with the OPT itself (RFC 6891 sections 6.1.1, 7)', () => {
    const question = query('uk.corp.example').subarray(12);
    const header = (ar: number) => Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, ar]);
    const opt = (rdata: number[], owner = [0]) =>
      Buffer.from([...owner, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, rdata.length, ...rdata]);
    const cases = {
      'two OPT records': Buffer.concat([header(2), question, opt([]), opt([])]),
      'an OPT not owned by the root': Buffer.concat([header(1), question, opt([], [1, 0x78, 0])]),
      'an option longer than the OPT': Buffer.concat([header(1), question, opt([0, 8, 0, 16, 0])]),
      'an option cut short': Buffer.concat([header(1), question, opt([0, 10, 0])]),
    };
    for (const [what, bad] of Object.entries(cases)) {
      const res = new Responder().respond(bad, 'udp', view)!;
      expect(rcodeOf(res), what).toBe(RCODE.FORMERR);
      expect(res.readUInt16BE(10), what).toBe(1);
      expect(res.subarray(12), what).toEqual(opt([]));
    }
    // Another opcode with such an OPT: NOTIMP, with an OPT too.
    const notify = Buffer.from(cases['an option cut short']);
    notify.writeUInt16BE(4 << 11, 2);
    const res = new Responder().respond(notify, 'udp', view)!;
    expect(rcodeOf(res)).toBe(RCODE.NOTIMP);
    expect(res.readUInt16BE(10)).toBe(1);
  });
});
