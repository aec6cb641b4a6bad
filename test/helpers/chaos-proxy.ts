import { createHash } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { ChunkFrameReader, encodeFrameHeader, FRAME_HEADER_BYTES, FrameKind } from '@outpost/protocol';
import { WebSocket, WebSocketServer } from 'ws';

/** A small seeded PRNG (mulberry32): the same seed, the same stream of choices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Chances, per chunk response, of each fault; what is left passes untouched. */
export interface ChunkFaults {
  /** 1–8 bits flipped. */
  flip: number;
  /** Cut short, with a Content-Length that says so. */
  truncate: number;
  /** Cut short mid-body, the Content-Length promising the whole: the connection is dropped. */
  short: number;
  /** Another chunk's bytes (of the same length when one was seen), or random bytes. */
  wrong: number;
  /** Held for a while, then completed intact (half the time) or cut off mid-body. */
  stall: number;
}

/** Chances, per frame from the master to the replica, of each fault. */
export interface FrameFaults {
  drop: number;
  duplicate: number;
  /** Held back and sent after the next frame. */
  reorder: number;
  /** The stream held for a while (order kept). */
  delay: number;
  /** Only a prefix of the frame is sent. */
  truncate: number;
}

export const NO_CHUNK_FAULTS: ChunkFaults = { flip: 0, truncate: 0, short: 0, wrong: 0, stall: 0 };
export const NO_FRAME_FAULTS: FrameFaults = { drop: 0, duplicate: 0, reorder: 0, delay: 0, truncate: 0 };

export interface ChaosStats {
  chunkResponses: number;
  /** Chunk bodies offered with wrong bytes (flipped, truncated, short, wrong). */
  corrupted: number;
  /** Addresses of the chunks that were offered corrupted at least once. */
  corruptedHashes: Set<string>;
  stalled: number;
  /** Stalled responses that were then cut off. */
  cut: number;
  chunkFaults: Map<string, number>;
  framesFromMaster: number;
  frameFaults: Map<string, number>;
  upgrades: number;
}

export interface ChaosProxy {
  readonly url: string;
  readonly stats: ChaosStats;
  setChunkFaults(f: Partial<ChunkFaults>): void;
  setFrameFaults(f: Partial<FrameFaults>): void;
  close(): Promise<void>;
}

const CHUNK_PATH = /^\/_outpost\/api\/v1\/chunks\/([0-9a-f]{64})$/;
const BATCH_PATH = '/_outpost/api/v1/chunks';

/**
 * A proxy between a replica and the master that damages what the master sends, driven by a
 * seeded PRNG: chunk bodies (bit flips, truncation, another chunk's bytes, stalls and cuts)
 * and, with the WebSocket terminated here and re-originated to the master (same
 * Authorization header), the master's frames (dropped, duplicated, reordered, delayed,
 * truncated). Everything else passes through untouched.
 */
export async function startChaosProxy(
  target: string,
  o: { seed: number; stallMs?: [number, number]; delayMs?: [number, number] },
): Promise<ChaosProxy> {
  const t = new URL(target);
  const random = prng(o.seed);
  const between = ([lo, hi]: [number, number]) => lo + Math.floor(random() * (hi - lo + 1));
  const stallMs = o.stallMs ?? [200, 1500];
  const delayMs = o.delayMs ?? [20, 300];
  let chunkFaults: ChunkFaults = { ...NO_CHUNK_FAULTS };
  let frameFaults: FrameFaults = { ...NO_FRAME_FAULTS };
  const stats: ChaosStats = {
    chunkResponses: 0,
    corrupted: 0,
    corruptedHashes: new Set(),
    stalled: 0,
    cut: 0,
    chunkFaults: new Map(),
    framesFromMaster: 0,
    frameFaults: new Map(),
    upgrades: 0,
  };
  const tally = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  /** Recently seen chunk bodies, to hand out as "wrong" ones. */
  const seen: Buffer[] = [];
  const pick = <K extends string>(faults: Record<K, number>): K | null => {
    let x = random();
    for (const [k, p] of Object.entries(faults) as [K, number][]) {
      if (x < p) return k;
      x -= p;
    }
    return null;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function answerChunk(hash: string, res: ServerResponse, status: number, headers: any, body: Buffer) {
    stats.chunkResponses++;
    const fault = pick(chunkFaults);
    const send = (data: Buffer) => {
      res.writeHead(status, { ...headers, 'content-length': data.length });
      res.end(data);
    };
    const corrupt = (kind: string, data: Buffer) => {
      stats.corrupted++;
      stats.corruptedHashes.add(hash);
      tally(stats.chunkFaults, kind);
      send(data);
    };
    if (seen.length < 64) seen.push(body);
    else seen[Math.floor(random() * seen.length)] = body;
    switch (fault) {
      case 'flip': {
        const data = Buffer.from(body);
        for (let i = 0, n = 1 + Math.floor(random() * 8); i < n; i++)
          data[Math.floor(random() * data.length)]! ^= 1 << Math.floor(random() * 8);
        // Flips may cancel out; then nothing was corrupted.
        if (data.equals(body)) return send(body);
        return corrupt('flip', data);
      }
      case 'truncate':
        return corrupt('truncate', body.subarray(0, Math.floor(random() * body.length)));
      case 'wrong': {
        const others = seen.filter((b) => !b.equals(body));
        const sameSize = others.filter((b) => b.length === body.length);
        const pool = sameSize.length > 0 ? sameSize : others;
        const data =
          pool.length > 0
            ? pool[Math.floor(random() * pool.length)]!
            : createHash('sha512').update(body).digest().subarray(0, body.length);
        return corrupt('wrong', data);
      }
      case 'short': {
        stats.corrupted++;
        stats.corruptedHashes.add(hash);
        tally(stats.chunkFaults, 'short');
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(random() * body.length)));
        await sleep(10);
        res.destroy();
        return;
      }
      case 'stall': {
        stats.stalled++;
        const cutOff = random() < 0.5;
        const midBody = random() < 0.5;
        res.writeHead(status, { ...headers, 'content-length': body.length });
        const at = midBody ? Math.floor(random() * body.length) : 0;
        if (at > 0) res.write(body.subarray(0, at));
        await sleep(between(stallMs));
        if (cutOff) {
          stats.cut++;
          tally(stats.chunkFaults, 'stall-cut');
          res.destroy();
        } else {
          tally(stats.chunkFaults, 'stall-ok');
          res.end(body.subarray(at));
        }
        return;
      }
      default:
        send(body);
    }
  }

  /** A batch answer: the same faults, drawn per frame; a cut or stall ends the rest of the batch. */
  async function answerBatch(res: ServerResponse, headers: any, body: Buffer) {
    let frames: ReturnType<ChunkFrameReader['push']>;
    try {
      frames = new ChunkFrameReader().push(body);
    } catch {
      res.writeHead(200, headers);
      res.end(body);
      return;
    }
    res.writeHead(200, headers);
    for (const f of frames) {
      const frame = (p: Buffer) => Buffer.concat([encodeFrameHeader(f.kind, f.hash, p.length), p]);
      if (f.kind === FrameKind.missing) {
        res.write(frame(Buffer.alloc(0)));
        continue;
      }
      stats.chunkResponses++;
      const payload = f.payload;
      const fault = pick(chunkFaults);
      const corrupt = (kind: string) => {
        stats.corrupted++;
        stats.corruptedHashes.add(f.hash);
        tally(stats.chunkFaults, kind);
      };
      if (seen.length < 64) seen.push(payload);
      else seen[Math.floor(random() * seen.length)] = payload;
      switch (fault) {
        case 'flip': {
          const data = Buffer.from(payload);
          for (let i = 0, n = 1 + Math.floor(random() * 8); i < n; i++)
            data[Math.floor(random() * data.length)]! ^= 1 << Math.floor(random() * 8);
          if (!data.equals(payload)) corrupt('flip');
          res.write(frame(data));
          break;
        }
        case 'truncate':
          corrupt('truncate');
          res.write(frame(payload.subarray(0, Math.floor(random() * payload.length))));
          break;
        case 'wrong': {
          const others = seen.filter((b) => !b.equals(payload));
          corrupt('wrong');
          res.write(
            frame(
              others.length > 0
                ? others[Math.floor(random() * others.length)]!
                : createHash('sha512').update(payload).digest(),
            ),
          );
          break;
        }
        case 'short':
          corrupt('short');
          res.write(frame(payload).subarray(0, FRAME_HEADER_BYTES + Math.floor(random() * payload.length)));
          await sleep(10);
          res.destroy();
          return;
        case 'stall': {
          stats.stalled++;
          const whole = frame(payload);
          const at = random() < 0.5 ? Math.floor(random() * whole.length) : 0;
          if (at > 0) res.write(whole.subarray(0, at));
          await sleep(between(stallMs));
          if (random() < 0.5) {
            stats.cut++;
            tally(stats.chunkFaults, 'stall-cut');
            res.destroy();
            return;
          }
          tally(stats.chunkFaults, 'stall-ok');
          res.write(whole.subarray(at));
          break;
        }
        default:
          res.write(frame(payload));
      }
    }
    res.end();
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunk = CHUNK_PATH.exec(req.url ?? '');
    const batch = req.url === BATCH_PATH && req.method === 'POST';
    const upstream = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (!(chunk && req.method === 'GET') && !batch) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        if (up.statusCode !== 200) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        up.on('data', (d: Buffer) => parts.push(d));
        up.on('end', () => {
          const { 'content-length': _, 'transfer-encoding': __, ...headers } = up.headers;
          if (batch) void answerBatch(res, headers, Buffer.concat(parts));
          else void answerChunk(chunk![1]!, res, 200, headers, Buffer.concat(parts));
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });

  // --- the WebSocket, terminated here and opened again towards the master ---
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 * 1024 });
  const sockets = new Set<WebSocket>();
  const closeCode = (code: number) =>
    code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000 ? 1000 : code;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const url = `ws://${t.host}${req.url ?? '/'}`;
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const up = new WebSocket(url, { headers, maxPayload: 256 * 1024 * 1024 });
    sockets.add(up);
    up.on('error', () => {
      if (!down) socket.destroy();
    });
    up.on('unexpected-response', (_r, res) => {
      // Refused by the master (401, 404…): the replica hears the same answer.
      socket.end(
        `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      up.terminate();
    });
    let down: WebSocket | null = null;
    const fromReplica: [Buffer, boolean][] = [];
    const toReplica: [Buffer, boolean][] = [];
    // Frames to the replica go out one after another; a delay holds the whole stream.
    let out: Promise<void> = Promise.resolve();
    let held: [Buffer, boolean] | null = null;
    let heldTimer: NodeJS.Timeout | undefined;
    const deliver = (data: Buffer, isBinary: boolean) => {
      if (down?.readyState === WebSocket.OPEN) down.send(data, { binary: isBinary });
    };
    const releaseHeld = () => {
      clearTimeout(heldTimer);
      if (held) deliver(...held);
      held = null;
    };
    const relayDown = (data: Buffer, isBinary: boolean) => {
      stats.framesFromMaster++;
      const fault = pick(frameFaults);
      if (fault) tally(stats.frameFaults, fault);
      out = out.then(async () => {
        switch (fault) {
          case 'drop':
            return;
          case 'duplicate':
            deliver(data, isBinary);
            deliver(data, isBinary);
            releaseHeld();
            return;
          case 'reorder':
            if (held) return deliver(data, isBinary);
            held = [data, isBinary];
            heldTimer = setTimeout(releaseHeld, 300);
            return;
          case 'delay':
            await sleep(between(delayMs));
            deliver(data, isBinary);
            releaseHeld();
            return;
          case 'truncate':
            deliver(data.subarray(0, Math.floor(random() * data.length)), isBinary);
            releaseHeld();
            return;
          default:
            deliver(data, isBinary);
            releaseHeld();
        }
      });
    };
    up.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (down) relayDown(buf, isBinary);
      else toReplica.push([buf, isBinary]);
    });
    up.on('close', (code, reason) => {
      sockets.delete(up);
      // What the master said before it closed still goes out first.
      void out.then(() => {
        releaseHeld();
        if (down && down.readyState === WebSocket.OPEN) down.close(closeCode(code), reason);
        else if (!down) socket.destroy();
      });
    });
    up.once('open', () => {
      stats.upgrades++;
      wss.handleUpgrade(req, socket, head, (ws) => {
        down = ws;
        sockets.add(ws);
        ws.on('error', () => {});
        ws.on('message', (data, isBinary) => {
          if (up.readyState === WebSocket.OPEN) up.send(data as Buffer, { binary: isBinary });
          else fromReplica.push([data as Buffer, isBinary]);
        });
        ws.on('close', (code, reason) => {
          sockets.delete(ws);
          if (up.readyState === WebSocket.OPEN) up.close(closeCode(code), reason);
          else up.terminate();
        });
        for (const [d, b] of fromReplica.splice(0)) up.send(d, { binary: b });
        for (const [d, b] of toReplica.splice(0)) relayDown(d, b);
      });
    });
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    setChunkFaults: (f) => {
      chunkFaults = { ...chunkFaults, ...f };
    },
    setFrameFaults: (f) => {
      frameFaults = { ...frameFaults, ...f };
    },
    close: () =>
      new Promise((r) => {
        for (const ws of sockets) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
