import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  CHUNK_BATCH_TYPE,
  ChunkBatchRequestSchema,
  encodeFrameHeader,
  FrameKind,
  type Manifest,
} from '@outpost/protocol';
import { WebSocket, WebSocketServer } from 'ws';

/** What a fake master serves: the one version it holds, and the chunks it will hand out. */
export interface FakeState {
  manifest: Manifest;
  chunks: Map<string, Buffer>;
}

/** One replica's push link to the fake master, with everything it said. */
export interface FakeLink {
  readonly ws: WebSocket;
  /** The replica's hello (parsed), once it has said it. */
  hello: any;
  /** Every parsed message after the hello. */
  readonly messages: any[];
  /** NACKs the replica sent on this link. */
  readonly nacks: { version: number; reason: string }[];
  readonly acks: { version: number; root: string }[];
  /** Resolves when the link closed; `code` as the fake saw it (the replica's close frame). */
  readonly closed: Promise<{ code: number; reason: string }>;
  isClosed: boolean;
}

export interface FakeMaster {
  readonly url: string;
  state: FakeState;
  /** Every link so far, oldest first. */
  readonly links: FakeLink[];
  /** Resolves with the first link opened after `after` links, once its hello arrived. */
  linkAfter(after: number, timeoutMs?: number): Promise<FakeLink>;
  readonly counts: { pulls: number; chunkGets: number; chunk404: number; batches: number };
  close(): Promise<void>;
}

/**
 * A stand-in master on 127.0.0.1: a `ws` WebSocketServer at /_outpost/ws that welcomes a
 * replica with the one version it holds (and pushes it when the replica lacks it), answers
 * pings, and a small HTTP server for the pull API and chunks. What the test sends on a link
 * after that is up to the test.
 */
export async function startFakeMaster(initial: FakeState): Promise<FakeMaster> {
  const links: FakeLink[] = [];
  const waiters: (() => void)[] = [];
  const counts = { pulls: 0, chunkGets: 0, chunk404: 0, batches: 0 };
  const fake = { state: initial };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/_outpost/api/v1/manifest')) {
      counts.pulls++;
      const body = JSON.stringify(fake.state.manifest);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (url === '/_outpost/api/v1/chunks' && req.method === 'POST') {
      counts.batches++;
      answerBatch(req, res, fake.state.chunks);
      return;
    }
    const m = /^\/_outpost\/api\/v1\/chunks\/([0-9a-f]{64})$/.exec(url);
    if (m) {
      counts.chunkGets++;
      const data = fake.state.chunks.get(m[1]!);
      if (data) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
        res.end(data);
        return;
      }
      counts.chunk404++;
    }
    const body = JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404 });
    res.writeHead(404, { 'content-type': 'application/problem+json', 'content-length': body.length });
    res.end(body);
  });
  const wss = new WebSocketServer({ server, path: '/_outpost/ws', maxPayload: 1024 * 1024 });
  wss.on('connection', (ws) => {
    let onClose!: (v: { code: number; reason: string }) => void;
    const link: FakeLink = {
      ws,
      hello: null,
      messages: [],
      nacks: [],
      acks: [],
      closed: new Promise((r) => {
        onClose = r;
      }),
      isClosed: false,
    };
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      link.isClosed = true;
      onClose({ code, reason: reason.toString() });
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: any;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      const held = fake.state.manifest;
      if (msg.type === 'hello' && !link.hello) {
        link.hello = msg;
        ws.send(JSON.stringify({ type: 'welcome', protocol: 1, version: held.version, root: held.root }));
        if (msg.version !== held.version || msg.root !== held.root)
          ws.send(JSON.stringify({ type: 'publish', ...held }));
        links.push(link);
        for (const w of waiters.splice(0)) w();
        return;
      }
      link.messages.push(msg);
      if (msg.type === 'nack') link.nacks.push({ version: msg.version, reason: msg.reason });
      else if (msg.type === 'ack') link.acks.push({ version: msg.version, root: msg.root });
      else if (msg.type === 'ping' && ws.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ type: 'pong', version: held.version, root: held.root }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get state() {
      return fake.state;
    },
    set state(s: FakeState) {
      fake.state = s;
    },
    links,
    counts,
    async linkAfter(after, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (links.length <= after) {
        if (Date.now() > deadline) throw new Error(`no replica link #${after + 1} within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return links[after]!;
    },
    close: () =>
      new Promise((r) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A batch of chunks as the master sends it: raw frames, and `missing` for those it lacks. */
function answerBatch(req: IncomingMessage, res: ServerResponse, chunks: Map<string, Buffer>) {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const asked = ChunkBatchRequestSchema.safeParse(JSON.parse(Buffer.concat(parts).toString() || 'null'));
    if (!asked.success) {
      res.writeHead(400, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400 }));
      return;
    }
    res.writeHead(200, { 'content-type': CHUNK_BATCH_TYPE });
    for (const hash of asked.data.hashes) {
      const data = chunks.get(hash);
      if (data) res.write(Buffer.concat([encodeFrameHeader(FrameKind.raw, hash, data.length), data]));
      else res.write(encodeFrameHeader(FrameKind.missing, hash, 0));
    }
    res.end();
  });
}
