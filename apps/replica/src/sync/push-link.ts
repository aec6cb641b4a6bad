import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenBucket } from '@outpost/core';
import {
  CloseCodes,
  closeReason,
  explainFrameFaults,
  type Hello,
  LIMITS,
  type Load,
  type MasterMessage,
  MasterMessageSchema,
  type ReplicaMessage,
  WS_PATH,
} from '@outpost/protocol';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { backoffDelay } from './backoff.js';
import { type MasterCredentials, masterHeaders } from './master-headers.js';

export interface PushLinkOptions extends MasterCredentials {
  master: string;
  log: Logger;
  heartbeatMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  hello: () => Omit<Hello, 'type'>;
  load: () => Load;
  /** A fault of the replica's own to tell the master with each heartbeat (damage in its store). */
  fault?: () => string | null;
  /**
   * Every message after the welcome. While the promise it may return is pending, the link
   * reads nothing more: the parts of a large manifest then wait in the master's socket, not
   * parsed in our memory.
   */
  onMessage: (msg: MasterMessage) => Promise<unknown> | undefined;
  /** The master welcomed us: pushes will flow. */
  onUp: (welcome: Extract<MasterMessage, { type: 'welcome' }>) => void;
  /** The link is down (or never came up); `reason` says why. */
  onDown: (reason: string) => void;
  /** The replica's rate limit (--max-rate): after a message, the link reads on when it allows. */
  limiter?: TokenBucket | undefined;
}

/** The replica's WebSocket to the master: hello, heartbeats, and reconnects with backoff and jitter. */
export class PushLink {
  readonly #o: PushLinkOptions;
  #ws: WebSocket | null = null;
  #up = false;
  #attempt = 0;
  /** Links in a row dropped for a message this replica refused. */
  #refusals = 0;
  #lastHeard = 0;
  /** When a refused WebSocket upgrade was last warned of. */
  #setupWarnedAt = Number.NEGATIVE_INFINITY;
  #heartbeat: NodeJS.Timeout | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Not reading while a message is taken in: the master's silence then says nothing. */
  #paused: WebSocket | null = null;

  constructor(o: PushLinkOptions) {
    this.#o = o;
  }

  /** True while the master has welcomed us and the socket is open. */
  get up(): boolean {
    return this.#up;
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  /** Sends a message if the link is up; returns whether it was sent. */
  send(msg: ReplicaMessage): boolean {
    if (!this.#up || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnect);
    clearInterval(this.#heartbeat);
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(CloseCodes.goingAway, 'replica is shutting down');
      setTimeout(() => ws.terminate(), 1000).unref();
    });
  }

  #connect() {
    const url = `${this.#o.master.replace(/^http/, 'ws')}${WS_PATH}`;
    const ws = new WebSocket(url, {
      headers: masterHeaders(this.#o),
      maxPayload: LIMITS.maxMasterMessageBytes,
      handshakeTimeout: 10_000,
    });
    explainFrameFaults(ws, LIMITS.maxMasterMessageBytes);
    this.#ws = ws;
    let failure = 'connection closed';
    ws.on('open', () => {
      this.#lastHeard = Date.now();
      ws.send(JSON.stringify({ type: 'hello', ...this.#o.hello() }));
      this.#heartbeat = setInterval(() => this.#beat(ws), this.#o.heartbeatMs);
    });
    ws.on('message', (data, isBinary) => this.#onMessage(ws, data as Buffer, isBinary));
    ws.on('error', (err) => {
      failure = err.message;
    });
    ws.on('close', (code, reason) => {
      clearInterval(this.#heartbeat);
      const why = code === 1006 ? failure : `closed ${code}${reason.length ? `: ${reason}` : ''}`;
      const wasUp = this.#up;
      this.#up = false;
      if (this.#ws === ws) this.#ws = null;
      if (wasUp) this.#o.log.warn({ reason: why }, 'push link down');
      else this.#setupFailed(why);
      this.#o.onDown(why);
      if (!this.#stopped) this.#scheduleReconnect(code);
    });
  }

  /**
   * A link that never came up. A master not reached at all is the pull's to say (LinkTrouble);
   * one whose address answers the upgrade with an HTTP status (a proxy in front that does not
   * pass WebSockets) was said at debug alone, while the replica synced by pull and said nothing
   * of why. That is a warning: at once, then at most once a minute while it lasts.
   */
  #setupFailed(why: string): void {
    const status = /Unexpected server response: (\d{3})/.exec(why)?.[1];
    if (status === undefined || Date.now() - this.#setupWarnedAt < 60_000) {
      this.#o.log.debug({ reason: why }, 'push link could not be set up');
      return;
    }
    this.#setupWarnedAt = Date.now();
    // A refused token is no proxy's doing: the pull says why (its error names the token's owner).
    const refused = status === '401' || status === '403';
    this.#o.log.warn(
      { reason: why, status: Number(status) },
      refused
        ? `the master refused the push link's replication token (${status}); see the replica's status for why`
        : `the master's address answered the push link's WebSocket upgrade with ${status}, not 101 (a proxy in front that does not pass WebSockets?); syncing by pull meanwhile`,
    );
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean) {
    // A link we are closing (it sent something invalid) is not obeyed any more.
    if (ws.readyState !== WebSocket.OPEN) return;
    this.#lastHeard = Date.now();
    let msg: MasterMessage;
    try {
      if (isBinary) throw new Error('binary message');
      const parsed = MasterMessageSchema.safeParse(JSON.parse(data.toString('utf8')));
      if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid');
      msg = parsed.data;
    } catch (err) {
      const why = (err as Error).message;
      this.#refusals++;
      this.#o.log.warn({ err: why }, 'bad message from master; dropping link');
      // The reason is what the master's status shows for this replica: say what was wrong.
      ws.close(CloseCodes.badMessage, closeReason(`invalid message: ${why}`));
      return;
    }
    if (msg.type === 'welcome') {
      this.#up = true;
      // A welcome ends the backoff, unless the links before it were dropped for what the
      // master sent: one that sends what this replica refuses is asked less and less often,
      // not five times a second for ever.
      this.#attempt = this.#refusals;
      this.#o.log.info({ version: msg.version }, 'push link up');
      this.#o.onUp(msg);
      return;
    }
    if (!this.#up) {
      ws.close(CloseCodes.badMessage, 'welcome must come first');
      return;
    }
    // A message taken: this master is one we can follow again, and a link lost now is lost
    // for a reason of the moment.
    this.#refusals = 0;
    this.#attempt = 0;
    const wait = this.#o.limiter?.take(data.length, Date.now()) ?? 0;
    const taken = this.#o.onMessage(msg);
    // Not reading is what slows the master: its socket's buffer fills and its sends wait.
    const busy = wait > 0 ? Promise.all([taken, sleep(wait)]) : taken;
    if (!busy) return;
    ws.pause();
    this.#paused = ws;
    void busy.finally(() => {
      if (this.#paused === ws) this.#paused = null;
      // Silence while we were not reading is not the master's.
      this.#lastHeard = Date.now();
      ws.resume();
    });
  }

  #beat(ws: WebSocket) {
    if (this.#paused === ws) this.#lastHeard = Date.now();
    else if (Date.now() - this.#lastHeard > 3 * this.#o.heartbeatMs) {
      this.#o.log.warn('master went silent; dropping the push link');
      ws.terminate();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) {
      const fault = this.#o.fault?.() ?? undefined;
      ws.send(JSON.stringify({ type: 'ping', load: this.#o.load(), ...(fault ? { fault } : {}) }));
    }
  }

  #scheduleReconnect(code: number) {
    // Replaced by another process with our name: back off fully rather than fight over the slot.
    const attempt = code === CloseCodes.replaced ? 30 : this.#attempt++;
    const delay = backoffDelay(attempt, this.#o.reconnectMinMs, this.#o.reconnectMaxMs);
    this.#reconnect = setTimeout(() => this.#connect(), delay);
  }
}
