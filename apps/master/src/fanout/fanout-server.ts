import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ChunkRef } from '@outpost/core';
import { CloseCodes, explainFrameFaults, LIMITS, WS_PATH } from '@outpost/protocol';
import { RefusalLog } from '@outpost/service';
import type { Store } from '@outpost/store';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { buildManifest, cutIntoParts } from './build-manifest.js';
import type { Fleet } from './fleet.js';
import { PublishCache } from './publish-cache.js';
import { ReplicaSession } from './replica-session.js';
import type { ReplicationAuth } from './replication-auth.js';

export interface FanoutOptions {
  store: Store;
  fleet: Fleet;
  log: Logger;
  /** Which replication tokens it accepts, and for whom. */
  auth: ReplicationAuth;
  heartbeatMs: number;
  /** Told of a replica that holds a version beyond this master's history (see heldBeyond). */
  onBeyond?: (version: number) => void;
}

/** The master's WebSocket side: authenticates upgrades, runs one session per replica, pushes versions. */
export class FanoutServer {
  readonly #o: FanoutOptions;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Set<ReplicaSession>();
  readonly #byName = new Map<string, ReplicaSession>();
  readonly #publishCache = new PublishCache();
  readonly #refusals = new RefusalLog();
  readonly #wrongNames = new RefusalLog();
  #sweep: NodeJS.Timeout;

  constructor(opts: FanoutOptions) {
    this.#o = opts;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: LIMITS.maxReplicaMessageBytes,
      // No permessage-deflate: with it, a garbled compressed frame from a peer dropped the
      // connection without a close code on Node 24 (the protocol fuzz, seed 830876), instead
      // of the clear close every bad message gets.
      perMessageDeflate: false,
    });
    this.#sweep = setInterval(() => this.#dropSilent(), opts.heartbeatMs);
    this.#sweep.unref();
  }

  /** Handles an HTTP upgrade: the token is checked before the WebSocket handshake completes. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      rejectUpgrade(socket, 404, 'Not Found', 'no WebSocket endpoint at this path');
      return;
    }
    const used = this.#o.auth.check(req.headers.authorization);
    if (used === null) {
      const remote = req.socket.remoteAddress ?? '-';
      const refused = this.#refusals.note(remote);
      if (refused > 0)
        this.#o.log.warn(
          { remote, userAgent: req.headers['user-agent'], refused },
          `replica refused: wrong or missing token${refused > 1 ? ` (${refused} refusals of this client since the last line)` : ''}`,
        );
      rejectUpgrade(socket, 401, 'Unauthorized', 'a valid replication token is required');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      explainFrameFaults(ws, LIMITS.maxReplicaMessageBytes);
      const session = new ReplicaSession(ws, {
        credential: used,
        fleet: this.#o.fleet,
        log: this.#o.log,
        wrongNames: this.#wrongNames,
        latest: () => this.#o.store.versions.current(),
        rootOf: (v) => (v === 0 ? undefined : this.#o.store.versions.get(v)?.root),
        publishFrom: (from, root, parts) => this.#publishFrom(from, root, parts),
        beyond: (version) => this.#o.onBeyond?.(version),
        claim: (name, s) => {
          const old = this.#byName.get(name);
          if (old && old !== s) {
            this.#noteSharedName(name, old, s);
            old.close(CloseCodes.replaced, 'replaced by a newer connection of the same replica');
          }
          this.#byName.set(name, s);
        },
        release: (name, s, refused, heardAt) => {
          this.#sessions.delete(s);
          if (this.#byName.get(name) === s) {
            this.#byName.delete(name);
            this.#o.fleet.disconnected(name, refused, heardAt);
            this.#o.log.info({ replica: name }, 'replica disconnected');
          }
        },
      });
      this.#sessions.add(session);
      ws.on('close', () => this.#sessions.delete(session));
    });
  }

  /** Closes the links of replicas whose own token a reload took away (or changed). */
  revoke(): void {
    for (const s of this.#sessions) {
      if (this.#o.auth.holds(s.credential)) continue;
      this.#o.log.warn({ replica: s.name }, 'replica token revoked; closing its link');
      s.close(CloseCodes.unauthorized, 'its replication token was revoked');
      if (s.name !== undefined) this.#o.fleet.revoked(s.name);
    }
  }

  /** Pushes the latest version to every connected replica. */
  broadcast(): void {
    this.#publishCache.clear();
    for (const s of this.#sessions) s.push();
  }

  /**
   * Tells every replica that takes them (see PREFETCH_FEATURE) of chunks stored for a version
   * still being cut, in messages of at most LIMITS.maxPrefetchChunks; each serialized once.
   */
  prefetch(version: number, chunks: readonly ChunkRef[]): void {
    const takers = [...this.#sessions].filter((s) => s.takesPrefetch);
    if (takers.length === 0) return;
    for (let i = 0; i < chunks.length; i += LIMITS.maxPrefetchChunks) {
      const part = chunks.slice(i, i + LIMITS.maxPrefetchChunks).map(({ hash, size }) => ({ hash, size }));
      const msg = JSON.stringify({ type: 'prefetch', version, chunks: part });
      for (const s of takers) s.sendRaw(msg);
    }
  }

  /** Tells every replica that takes it (see PREFETCH_LATER_FEATURE) that chunks told for `from` or before are for `to` now. */
  prefetchLater(from: number, to: number): void {
    const msg = JSON.stringify({ type: 'prefetch-later', from, to });
    for (const s of this.#sessions) if (s.takesPrefetchLater) s.sendRaw(msg);
  }

  /** Closes every link and stops the server. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    for (const s of this.#sessions) s.close(CloseCodes.goingAway, 'master is shutting down');
    // A peer that does not answer the close handshake must not hold the shutdown for ws's 30 s.
    const deadline = Date.now() + 1000;
    while (this.#wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #publishFrom(from: number, root: string | undefined, parts: boolean): string[] {
    const latest = this.#o.store.versions.current();
    return this.#publishCache.get(`${latest.version}:${from}:${root ?? ''}:${parts}`, () => {
      const m = buildManifest(this.#o.store, from, root);
      return (parts ? cutIntoParts(m) : [m]).map((p) => JSON.stringify({ type: 'publish', ...p }));
    });
  }

  /**
   * A replica that reconnects replaces its old link, which may not have noticed it was dead;
   * but an old link still talking, from a replica that says it is reached elsewhere, is
   * another process using the same name.
   */
  #noteSharedName(name: string, old: ReplicaSession, now: ReplicaSession) {
    const [a, b] = [old.advertise, now.advertise];
    const talking = Date.now() - old.lastMessageAt < 2 * this.#o.heartbeatMs;
    if (!talking || !a || !b || a === b) return;
    this.#o.log.warn(
      { replica: name, advertises: [a, b] },
      'two replica processes use the same name; each takes the link from the other',
    );
    this.#o.fleet.nameShared(name, [a, b]);
  }

  #dropSilent() {
    const limit = Date.now() - 3 * this.#o.heartbeatMs;
    for (const s of this.#sessions) {
      if (s.lastMessageAt < limit) {
        this.#o.log.warn({ replica: s.name }, 'replica went silent; dropping its link');
        s.dropSilent(
          `nothing heard for ${Math.round((3 * this.#o.heartbeatMs) / 1000)} s: a hello, then heartbeats, are expected`,
        );
      }
    }
  }
}

function rejectUpgrade(socket: Duplex, status: number, title: string, detail: string): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
