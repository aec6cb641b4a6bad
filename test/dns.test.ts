import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_DIG, lookup, tallyFirstAnswers, tcpExchange, udpExchange } from './helpers/dns-client.js';
import { Fleet } from './helpers/fleet.js';
import { freePort } from './helpers/free-port.js';
import { type HoldProxy, startHoldProxy } from './helpers/hold-proxy.js';
import { getJson } from './helpers/http.js';
import { runCli, startMaster } from './helpers/services.js';
import { waitFor } from './helpers/wait-for.js';

// A master serving corp.example, and three replicas on their own loopback addresses, on the
// same port as a real deployment would have them: uk-a (127.0.0.2, its master link through a
// proxy that can hold it behind), uk-b (127.0.0.3), eu-c (127.0.0.4). Heartbeats every 400 ms.

const HB = 400;
/**
 * Beyond two heartbeats: the zone view's 100 ms cache, the 20 ms poll, and a busy CI machine,
 * where the master may take a heartbeat sent just before the SIGSTOP late, and this process may
 * be slow to ask (500 ms left little room for that on two busy cores). The bound says the drop is prompt,
 * a matter of heartbeats and not of a TCP timeout; eligibility.test.ts pins the rule itself.
 */
const SLACK_MS = 1_000;
const ZONE = 'corp.example';
const IP = { 'uk-a': '127.0.0.2', 'uk-b': '127.0.0.3', 'eu-c': '127.0.0.4' } as const;

/** Loopback IPv6 works here (some containers have none): then a fourth replica, v6-d on ::1. */
let haveV6 = false;
let fleet: Fleet;
let proxy: HoldProxy;
let dnsPort: number;
let httpPort: number;

const dnsStatus = (): Promise<any> => getJson(`${fleet.master.url}/_outpost/api/v1/dns`);
const addresses = async (name: string, o: { tcp?: boolean } = {}) =>
  (await lookup(dnsPort, name, 'A', o)).answers.map((a) => a.replace(/^A /, '')).sort();
/** The addresses a name answers, by a Node client: cheap enough to poll. */
async function quickAddresses(name: string): Promise<string[]> {
  const q = dnsPacket.encode({ id: 1, type: 'query', questions: [{ name, type: 'A' }] });
  const p = dnsPacket.decode(await udpExchange(dnsPort, q)) as any;
  return (p.answers ?? []).map((a: any) => a.data).sort();
}

beforeAll(async () => {
  if (!HAVE_DIG) console.warn('dig is not installed: DNS lookups go through the Node client instead');
  dnsPort = await freePort();
  httpPort = await freePort();
  fleet = new Fleet({
    files: { 'index.html': '<h1>v1</h1>\n' },
    masterArgs: [
      '--zone',
      ZONE,
      '--dns-port',
      String(dnsPort),
      '--dns-fallback',
      'eu:uk',
      '--heartbeat-ms',
      String(HB),
    ],
  });
  await fleet.startMaster();
  proxy = await startHoldProxy(fleet.master.url);
  const args = (name: keyof typeof IP) => [
    '--host',
    IP[name],
    '--port',
    String(httpPort),
    '--heartbeat-ms',
    String(HB),
  ];
  haveV6 = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(httpPort, '::1', () => srv.close(() => resolve(true)));
  });
  if (!haveV6) console.warn('no IPv6 loopback: the AAAA answers are left untested here');
  await Promise.all([
    haveV6 &&
      fleet.startReplica('v6-d', 'v6', {
        args: ['--host', '::1', '--port', String(httpPort), '--heartbeat-ms', String(HB)],
      }),
    fleet.startReplica('uk-a', 'uk', { master: proxy.url, args: args('uk-a') }),
    fleet.startReplica('uk-b', 'uk', { args: args('uk-b') }),
    fleet.startReplica('eu-c', 'eu', { args: args('eu-c') }),
  ]);
  // In the answers once each holds the first version (no HTTP to the replicas: it would be load).
  const want = haveV6 ? 4 : 3;
  await waitFor(async () => (await dnsStatus()).replicas.filter((r: any) => r.in).length === want, {
    what: `${want} replicas in the answers`,
  });
});

afterAll(async () => {
  await fleet?.stop();
  await proxy?.close();
});

describe('DNS: names', () => {
  it('answers each name with real dig: region, replica, apex, SOA, NS, NXDOMAIN, REFUSED, NODATA', async () => {
    expect(await addresses(`uk.${ZONE}`)).toEqual([IP['uk-a'], IP['uk-b']]);
    expect(await addresses(`eu.${ZONE}`)).toEqual([IP['eu-c']]);
    expect(await addresses(`uk-b.${ZONE}`)).toEqual([IP['uk-b']]);
    expect(await addresses(ZONE)).toEqual(Object.values(IP).sort());
    expect(await addresses(`UK.Corp.Example`)).toEqual([IP['uk-a'], IP['uk-b']]);
    expect(await addresses(`uk.${ZONE}`, { tcp: true })).toEqual([IP['uk-a'], IP['uk-b']]);

    const a = await lookup(dnsPort, `uk.${ZONE}`);
    expect(a.status).toBe('NOERROR');
    expect(a.flags).toContain('aa');
    const soa = await lookup(dnsPort, ZONE, 'SOA');
    expect(soa.answers[0]).toMatch(
      /^SOA ns\.corp\.example\. hostmaster\.corp\.example\. \d+ 3600 600 86400 5$/,
    );
    const ns = await lookup(dnsPort, ZONE, 'NS');
    expect(ns.answers).toEqual(['NS ns.corp.example.']);
    expect(ns.additional).toEqual(['A 127.0.0.1']);

    const nx = await lookup(dnsPort, `nowhere.${ZONE}`);
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority[0]).toMatch(/^SOA /);
    expect((await lookup(dnsPort, 'example.com')).status).toBe('REFUSED');
    const nodata = await lookup(dnsPort, `uk.${ZONE}`, 'AAAA');
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authority[0]).toMatch(/^SOA /);
    expect((await lookup(dnsPort, `uk.${ZONE}`, 'A', { edns: false })).answers).toHaveLength(2);
  });

  it('answers AAAA for a replica advertised on IPv6 (its own --host, [::1]:port)', async (ctx) => {
    if (!haveV6) return ctx.skip();
    expect((await lookup(dnsPort, `v6-d.${ZONE}`, 'AAAA')).answers).toEqual(['AAAA ::1']);
    expect((await lookup(dnsPort, ZONE, 'AAAA')).answers).toEqual(['AAAA ::1']);
    // Region v6 has IPv6 replicas only: an A query (an IPv4-only reader's) is answered from
    // the IPv4 replicas of every region, as a region with nobody is, not with nothing.
    const a = await lookup(dnsPort, `v6.${ZONE}`, 'A');
    expect(a.answers.sort()).toEqual(['A 127.0.0.2', 'A 127.0.0.3', 'A 127.0.0.4']);
    // A replica's own name keeps to its own address.
    const own = await lookup(dnsPort, `v6-d.${ZONE}`, 'A');
    expect(own.status).toBe('NOERROR');
    expect(own.answers).toEqual([]);
    const d = await dnsStatus();
    expect(d.replicas.find((r: any) => r.name === 'v6-d')).toMatchObject({ in: true, address: '::1' });
  });

  it('tells why over REST and in outpost status', async () => {
    const d = await dnsStatus();
    expect(d).toMatchObject({ zone: ZONE, ttl: 5, mode: 'all', maxLag: 0, fallback: { eu: ['uk'] } });
    const uk = d.names.find((n: any) => n.name === `uk.${ZONE}`);
    expect(uk.via).toBe('region uk');
    expect(uk.answers.map((x: any) => x.address).sort()).toEqual([IP['uk-a'], IP['uk-b']]);
    expect(d.replicas.every((r: any) => r.in && /holds the latest version/.test(r.reason))).toBe(true);
    const out = await runCli(['status', '--master', fleet.master.url]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`dns: zone ${ZONE}  mode all  ttl 5s`);
    expect(out.stdout).toMatch(/uk-b\s+uk\s+in\s+127\.0\.0\.3/);
  });
});

describe('DNS: spreading', () => {
  it('shares 10,000 queries evenly over three equal replicas', async () => {
    const counts = await tallyFirstAnswers(dnsPort, ZONE, 10_000);
    expect(Object.keys(counts).sort()).toEqual(Object.values(IP).sort());
    for (const [ip, n] of Object.entries(counts)) {
      // Within 5% of a third.
      expect(Math.abs(n / 10_000 - 1 / 3), `${ip}: ${n}`).toBeLessThan(0.05 / 3);
    }
  });

  it('gives a replica reporting triple load clearly fewer answers', async () => {
    // Real load: keep-alive readers holding connections, 60 on uk-a and 20 on each of the others.
    const sockets: Socket[] = [];
    const open = (ip: string, n: number) =>
      Promise.all(
        Array.from(
          { length: n },
          () =>
            new Promise<void>((resolve, reject) => {
              const s = connect(httpPort, ip, () => {
                s.write(`GET /_outpost/healthz HTTP/1.1\r\nHost: ${ip}\r\n\r\n`);
                resolve();
              });
              s.on('error', reject);
              sockets.push(s);
            }),
        ),
      );
    try {
      await Promise.all([open(IP['uk-a'], 60), open(IP['uk-b'], 20), open(IP['eu-c'], 20)]);
      await waitFor(
        async () => {
          // The one request on each connection has passed (requests/s back to 0): connections only.
          const reps = (await dnsStatus()).replicas;
          if (reps.some((r: any) => r.load?.requestsPerSecond !== 0)) return false;
          const conns = Object.fromEntries(reps.map((r: any) => [r.name, r.load.openConnections]));
          return conns['uk-a'] === 60 && conns['uk-b'] === 20 && conns['eu-c'] === 20;
        },
        { what: 'the loads reported with heartbeats' },
      );
      const counts = await tallyFirstAnswers(dnsPort, ZONE, 3000);
      const share = (ip: string) => (counts[ip] ?? 0) / 3000;
      expect(share(IP['uk-a'])).toBeLessThan(0.27);
      expect(share(IP['uk-a'])).toBeLessThan(share(IP['uk-b']) * 0.7);
      expect(Math.abs(share(IP['uk-b']) - share(IP['eu-c']))).toBeLessThan(0.05);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('DNS: hostile packets over the wire', () => {
  it('keeps answering after 3,000 malformed, mutated and oversized packets over UDP and TCP', async () => {
    const seed = dnsPacket.encode({ id: 0, type: 'query', questions: [{ name: `uk.${ZONE}`, type: 'A' }] });
    const packets: Buffer[] = [];
    for (let i = 0; i < 2700; i++) {
      let p: Buffer;
      if (i % 3 === 0) p = randomBytes(i % 700);
      else if (i % 3 === 1) {
        p = Buffer.from(seed);
        for (let k = 0; k < 1 + (i % 5); k++) p[(i * 7 + k * 13) % p.length] = (i * 31 + k) & 0xff;
        p = p.subarray(0, Math.max(12, p.length - (i % 9)));
      } else p = Buffer.concat([seed, randomBytes(i % 1400)]);
      if (p.length >= 2) p.writeUInt16BE(i, 0); // ids to match answers to their queries
      packets.push(p);
    }
    const sizes = new Map(packets.map((p) => [p.length >= 2 ? p.readUInt16BE(0) : -1, p.length]));
    const sock = createSocket('udp4');
    let answers = 0;
    let amplified = 0;
    sock.on('message', (m) => {
      answers++;
      const asked = sizes.get(m.readUInt16BE(0)) ?? 0;
      if (m.length > 10 * asked) amplified++;
    });
    // Paced, so that the master's socket buffer (not the master) is not what drops them.
    for (let i = 0; i < packets.length; i += 50) {
      for (const p of packets.slice(i, i + 50)) sock.send(p, dnsPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 5));
    }
    // TCP: garbage frames, a frame cut short, and an oversized length; each connection is dropped or answered.
    for (let i = 0; i < 300; i++) {
      const body = i % 2 ? randomBytes(i) : Buffer.from(packets[i]!);
      await new Promise<void>((resolve) => {
        const s = connect(dnsPort, '127.0.0.1', () => {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(i % 10 === 0 ? 65535 : body.length);
          s.end(Buffer.concat([len, body]));
        });
        s.on('data', () => {});
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(500, () => s.destroy());
      });
    }
    // Over a third are silently dropped by design (responses, runts); most others get FORMERR.
    await waitFor(() => answers > 300, { what: 'answers to the valid-looking packets' });
    sock.close();
    expect(amplified).toBe(0);
    // Still answering, over both transports.
    expect(await quickAddresses(`uk.${ZONE}`)).toEqual([IP['uk-a'], IP['uk-b']]);
    const q = dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: `eu.${ZONE}`, type: 'A' }] });
    expect((dnsPacket.decode(await tcpExchange(dnsPort, q)) as any).answers[0].data).toBe(IP['eu-c']);
    const d = await dnsStatus();
    expect(d.counters.formerr).toBeGreaterThan(100);
    expect(d.counters.handlerErrors).toBe(0);
  });
});

describe('DNS: health and version awareness', () => {
  it('drops a hung replica within two heartbeats and takes it back when it answers again', async () => {
    const b = fleet.replica('uk-b');
    b.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await waitFor(async () => !(await quickAddresses(`uk.${ZONE}`)).includes(IP['uk-b']), {
        intervalMs: 20,
        what: 'uk-b out of the answers',
      });
      const took = Date.now() - stoppedAt;
      expect(took).toBeLessThan(2 * HB + SLACK_MS);
      expect(await addresses(`uk.${ZONE}`)).toEqual([IP['uk-a']]);
      const r = (await dnsStatus()).replicas.find((x: any) => x.name === 'uk-b');
      expect(r.in).toBe(false);
      expect(r.reason).toMatch(/silent for|disconnected/);
      // Dropped as silent three heartbeats on, it was last seen when it last spoke: before the
      // stop (a heartbeat sent just before it may be taken a little after), not at the drop.
      const dropped = await waitFor(
        async () => {
          const s = await getJson(`${fleet.master.url}/_outpost/api/v1/status`);
          const me = s.replicas.find((x: any) => x.name === 'uk-b');
          return me && !me.connected ? me : null;
        },
        { what: 'uk-b dropped as silent' },
      );
      expect(Date.parse(dropped.lastSeenAt)).toBeLessThan(stoppedAt + HB);
    } finally {
      b.proc.kill('SIGCONT');
    }
    await waitFor(async () => (await quickAddresses(`uk.${ZONE}`)).includes(IP['uk-b']), {
      what: 'uk-b back in the answers',
    });
  });

  it('holds a replica cut off from new versions out of the answers until it has caught up', async () => {
    proxy.hold();
    try {
      fleet.write('v2.txt', 'version two\n');
      const v2 = await fleet.masterCaughtUp();
      await waitFor(
        async () => {
          const r = (await dnsStatus()).replicas.find((x: any) => x.name === 'uk-a');
          return !r.in && /behind: holds version \d+, latest \d+/.test(r.reason);
        },
        { what: 'uk-a out as behind' },
      );
      expect(await addresses(`uk.${ZONE}`)).toEqual([IP['uk-b']]);
      // It stays out for as long as it is held.
      const status = await getJson(`${fleet.master.url}/_outpost/api/v1/status`);
      expect(status.replicas.find((r: any) => r.name === 'uk-a').version).toBeLessThan(v2.version);
    } finally {
      proxy.release();
    }
    // Back only once it holds the latest version.
    await waitFor(async () => (await quickAddresses(`uk.${ZONE}`)).includes(IP['uk-a']), {
      what: 'uk-a back in the answers',
    });
    const d = await dnsStatus();
    const latest = (await getJson(`${fleet.master.url}/_outpost/api/v1/status`)).version;
    expect(d.replicas.find((r: any) => r.name === 'uk-a').reason).toContain(
      `holds the latest version ${latest}`,
    );
  });

  it('drops a killed replica at once, and its region falls back to the next', async () => {
    await fleet.replica('eu-c').kill();
    const killedAt = Date.now();
    await waitFor(async () => !(await quickAddresses(`eu.${ZONE}`)).includes(IP['eu-c']), {
      intervalMs: 20,
      what: 'eu-c out of the answers',
    });
    expect(Date.now() - killedAt).toBeLessThan(2 * HB + SLACK_MS);
    expect(await addresses(`eu.${ZONE}`)).toEqual([IP['uk-a'], IP['uk-b']]);
    expect(await addresses(`eu-c.${ZONE}`)).toEqual([IP['uk-a'], IP['uk-b']]);
    const eu = (await dnsStatus()).names.find((n: any) => n.name === `eu.${ZONE}`);
    expect(eu.via).toBe('fallback: region eu has no replica to answer with; answering uk');
  });
});

describe('DNS: options', () => {
  it('refuses a bad --advertise, --zone or --dns-fallback with a clear message', async () => {
    const data = fleet.dir.path;
    const [replica, master] = await Promise.all([
      runCli([
        'replica',
        '--name',
        'x',
        '--region',
        'uk',
        '--master',
        'http://127.0.0.1:1',
        '--data',
        data,
        '--advertise',
        '::1:80:x',
      ]),
      runCli(['master', '--content', data, '--data', data, '--zone', 'bad zone!', '--dns-fallback', 'uk=eu']),
    ]);
    expect(replica.code).toBe(2);
    expect(replica.stderr).toContain(
      "--advertise: bad address '::1:80:x': an IPv6 address with a port goes in brackets",
    );
    expect(master.code).toBe(2);
    expect(master.stderr).toContain("--dns-fallback: 'uk=eu' is not REGION:REGION,REGION");
    expect(master.stderr).toContain('--zone: a DNS name such as corp.example');
  });

  it('refuses a --dns-fallback that gives a region two lists or itself', async () => {
    const data = fleet.dir.path;
    const master = (fallback: string) =>
      runCli(['master', '--content', data, '--data', data, '--zone', ZONE, '--dns-fallback', fallback]);
    const [twice, itself] = await Promise.all([master('uk:eu;uk:us'), master('uk:uk')]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(
      "--dns-fallback: region uk is given two lists ('uk:us' and an earlier one): give one",
    );
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain("--dns-fallback: 'uk:uk': region uk falls back to itself");
  });

  it('warns at start that ns has no address when --dns-host is a wildcard', async () => {
    const master = await startMaster({
      content: fleet.content,
      data: join(fleet.dir.path, 'wildcard-dns'),
      args: ['--zone', ZONE, '--dns-port', String(await freePort()), '--dns-host', '0.0.0.0'],
    });
    try {
      const warned = master.logs.find((l) => String(l.msg).startsWith(`dns: ns.${ZONE} has no address`));
      expect(warned?.msg).toBe(
        `dns: ns.${ZONE} has no address in the zone: --dns-host 0.0.0.0 is no address resolvers reach; give --dns-host the address they reach it at (and the parent zone the same glue)`,
      );
      expect(fleet.master.logs.some((l) => String(l.msg).includes('has no address'))).toBe(false);
    } finally {
      await master.stop();
    }
  });
});
