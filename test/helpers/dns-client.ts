import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';

/** What a lookup got: the status dig prints (NOERROR, NXDOMAIN, …), header flags, the records. */
export interface Lookup {
  status: string;
  flags: string[];
  /** `TYPE DATA` for each answer record, in order. */
  answers: string[];
  authority: string[];
  additional: string[];
}

/**
 * True when Debian's dig is on PATH; without it the same lookups go through a Node client
 * (OUTPOST_TEST_NO_DIG=1 forces that, to test the fallback).
 */
export const HAVE_DIG = (() => {
  if (process.env.OUTPOST_TEST_NO_DIG === '1') return false;
  try {
    execFileSync('dig', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** Asks the server at 127.0.0.1:port, with real dig when installed, else a Node client. */
export function lookup(
  port: number,
  name: string,
  type = 'A',
  o: { tcp?: boolean; edns?: boolean } = {},
): Promise<Lookup> {
  return HAVE_DIG ? digLookup(port, name, type, o) : nodeLookup(port, name, type, o);
}

function digLookup(port: number, name: string, type: string, o: { tcp?: boolean; edns?: boolean }) {
  const args = ['@127.0.0.1', '-p', String(port), name, type, '+noall', '+comments', '+answer', '+authority'];
  args.push(
    '+additional',
    '+tries=1',
    '+time=2',
    o.tcp ? '+tcp' : '+notcp',
    o.edns === false ? '+noedns' : '+edns=0',
  );
  return new Promise<Lookup>((resolve, reject) => {
    execFile('dig', args, { timeout: 10_000 }, (err, stdout) => {
      if (err) return reject(new Error(`dig ${args.join(' ')}: ${err.message}\n${stdout}`));
      const status = /status: (\w+)/.exec(stdout)?.[1];
      if (!status) return reject(new Error(`dig printed no status:\n${stdout}`));
      const flags = /;; flags: ([\w ]+);/.exec(stdout)?.[1]?.trim().split(/\s+/) ?? [];
      const section = (title: string) => {
        const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
        return (m?.[1] ?? '')
          .split('\n')
          .filter((l) => l.trim() && !l.startsWith(';'))
          .map((l) => {
            const [, , , t, ...data] = l.split(/\s+/);
            return `${t} ${data.join(' ')}`;
          })
          .filter((l) => !l.startsWith('OPT'));
      };
      resolve({
        status,
        flags,
        answers: section('ANSWER'),
        authority: section('AUTHORITY'),
        additional: section('ADDITIONAL'),
      });
    });
  });
}

/** The same lookup through dns-packet over UDP or TCP, formatted as dig formats it. */
async function nodeLookup(port: number, name: string, type: string, o: { tcp?: boolean; edns?: boolean }) {
  const q = dnsPacket.encode({
    id: Math.floor(Math.random() * 65536),
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType }],
    additionals: o.edns === false ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as any],
  });
  const res = o.tcp ? await tcpExchange(port, q) : await udpExchange(port, q);
  const p = dnsPacket.decode(res) as any;
  const fmt = (a: any) => {
    if (a.type === 'SOA') {
      const d = a.data;
      return `SOA ${d.mname}. ${d.rname}. ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    return `${a.type} ${a.type === 'NS' ? `${a.data}.` : a.data}`;
  };
  const flags = ['qr', 'aa', 'tc', 'rd', 'ra'].filter((f) => p[`flag_${f}`]);
  return {
    status: RCODES[res.readUInt16BE(2) & 0xf] ?? 'OTHER',
    flags,
    answers: (p.answers ?? []).map(fmt),
    authority: (p.authorities ?? []).map(fmt),
    additional: (p.additionals ?? []).filter((a: any) => a.type !== 'OPT').map(fmt),
  } satisfies Lookup;
}

/** One UDP query and its answer (rejects after timeoutMs). */
export function udpExchange(port: number, query: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(query, port, '127.0.0.1');
  });
}

/** One TCP query (RFC 7766 framing) and its answer. */
export function tcpExchange(port: number, query: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no TCP answer'));
    }, timeoutMs);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Sends `count` A queries for `name` over one UDP socket, `window` in flight at a time, and
 * tallies the first address of each answer. Lost datagrams are asked again.
 */
export async function tallyFirstAnswers(
  port: number,
  name: string,
  count: number,
  window = 64,
): Promise<Record<string, number>> {
  const s = createSocket('udp4');
  const tally: Record<string, number> = {};
  const pending = new Map<number, () => void>();
  s.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const done = pending.get(id);
    if (!done) return;
    const p = dnsPacket.decode(m) as any;
    const first = p.answers?.[0]?.data ?? '(none)';
    tally[first] = (tally[first] ?? 0) + 1;
    pending.delete(id);
    done();
  });
  let next = 0;
  const one = (id: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const q = dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });
      const retry = setInterval(() => s.send(q, port, '127.0.0.1'), 500);
      pending.set(id, () => {
        clearInterval(retry);
        resolve();
      });
      s.send(q, port, '127.0.0.1');
    });
  const worker = async () => {
    while (next < count) {
      const id = next++;
      await one(id % 65536);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  s.close();
  return tally;
}
