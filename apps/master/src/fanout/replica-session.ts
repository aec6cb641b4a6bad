import {
  CloseCodes,
  closeReason,
  type Hello,
  LIMITS,
  PREFETCH_FEATURE,
  PREFETCH_LATER_FEATURE,
  PROTOCOL_VERSION,
  type ReplicaMessage,
  ReplicaMessageSchema,
  SUPPORTED_PROTOCOLS,
} from '@outpost/protocol';
import type { RefusalLog } from '@outpost/service';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Fleet } from './fleet.js';
import { followable, heldBeyond } from './held-beyond.js';
import { type Credential, wrongReplica } from './replication-auth.js';

/** How long a silent link's close frame is given before the socket is cut. */
const SILENT_CLOSE_GRACE_MS = 1000;

/** What a session needs from the master around it. */
export interface SessionDeps {
  /** The token the link was opened with (the replication token being retired, a replica's own…). */
  credential: Credential;
  fleet: Fleet;
  log: Logger;
  /** Refusals of a replica presenting another's token, by its name: logged once a minute. */
  wrongNames?: RefusalLog;
  latest(): { version: number; root: string };
  rootOf(version: number): string | undefined;
  /** The serialized publish messages that take (from, root) to the latest version: one, or its parts. */
  publishFrom(from: number, root: string | undefined, parts: boolean): string[];
  /** A newer session for the same replica name takes over from this one. */
  claim(name: string, session: ReplicaSession): void;
  /** Told of a replica that holds a version beyond this master's history (see heldBeyond). */
  beyond?(version: number): void;
  /**
   * The link closed; `refused` is the replica's reason when it dropped it over a message, and
   * `heardAt` when the replica was last heard from.
   */
  release(name: string, session: ReplicaSession, refused: string | undefined, heardAt: number): void;
}

/** One replica's push link: hello, then manifests out and ACK/NACK/ping in. */
export class ReplicaSession {
  readonly #ws: WebSocket;
  readonly #d: SessionDeps;
  #hello: Hello | null = null;
  /** The version this replica will hold once it has applied everything sent to it, and its root. */
  #sentVersion = -1;
  #sentRoot: string | undefined;
  lastMessageAt = Date.now();
  /** The master closed the link (refused, replaced, silent, shutting down), not the replica. */
  #closedByUs = false;
  /** The token the link was opened with. */
  readonly credential: Credential;

  constructor(ws: WebSocket, deps: SessionDeps) {
    this.#ws = ws;
    this.#d = deps;
    this.credential = deps.credential;
    ws.on('message', (data, isBinary) => {
      try {
        this.#onMessage(data as Buffer, isBinary);
      } catch (err) {
        // One link's failure (a bug, a store refusing a write) ends that link, not the master:
        // thrown from here it was an uncaught exception. The replica reconnects with backoff.
        this.#d.log.error(
          { err, replica: this.name },
          'could not handle a message from a replica; closing its link',
        );
        this.close(CloseCodes.internalError, 'the master failed to handle a message');
      }
    });
    ws.on('close', (code, reason) => {
      // A replica that drops its link over what we sent says why in the close: status shows it.
      const refused = code === CloseCodes.badMessage ? reason.toString() || 'invalid message' : undefined;
      // Its own close frame is word from it; a link we dropped (silent) or that broke (1006)
      // was last heard from at its last message, not now.
      const heardAt = !this.#closedByUs && code !== 1006 ? Date.now() : this.lastMessageAt;
      if (this.#hello) this.#d.release(this.#hello.name, this, refused, heardAt);
    });
    ws.on('error', (err) => this.#d.log.warn({ err, replica: this.name }, 'replica socket error'));
  }

  /** Where the replica says readers reach it, from its hello. */
  get advertise(): string | undefined {
    return this.#hello?.advertise;
  }

  get name(): string | undefined {
    return this.#hello?.name;
  }

  /** True once this replica said hello naming PREFETCH_FEATURE, while its link is open. */
  get takesPrefetch(): boolean {
    return (
      this.#ws.readyState === this.#ws.OPEN && this.#hello?.features?.includes(PREFETCH_FEATURE) === true
    );
  }

  /** True once this replica said hello naming PREFETCH_LATER_FEATURE, while its link is open. */
  get takesPrefetchLater(): boolean {
    return (
      this.#ws.readyState === this.#ws.OPEN &&
      this.#hello?.features?.includes(PREFETCH_LATER_FEATURE) === true
    );
  }

  /** Sends an already serialized message (one shared by many sessions) if the link is open. */
  sendRaw(msg: string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(msg);
  }

  /** Sends the newest version if this replica has not been sent it yet. */
  push(): void {
    if (!this.#hello || this.#ws.readyState !== this.#ws.OPEN) return;
    const latest = this.#d.latest();
    if (this.#sentVersion >= latest.version) return;
    const from = Math.max(this.#sentVersion, 0);
    this.#send(from, this.#sentRoot);
    this.#sentVersion = latest.version;
    this.#sentRoot = latest.root;
  }

  /** Closes the link with a code and a reason a human can read. */
  close(code: number, reason: string): void {
    this.#closedByUs = true;
    this.#ws.close(code, closeReason(reason));
  }

  /**
   * Drops a link that stopped talking: says why in a close frame (a live peer that never said
   * hello learns it), and cuts the socket soon after, as a dead peer never answers the close.
   */
  dropSilent(reason: string): void {
    this.close(CloseCodes.policyViolation, reason);
    setTimeout(() => this.#ws.terminate(), SILENT_CLOSE_GRACE_MS).unref();
  }

  #onMessage(data: Buffer, isBinary: boolean) {
    // Once a link is being closed (refused, replaced), frames already in flight are not obeyed.
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.lastMessageAt = Date.now();
    const msg = this.#parse(data, isBinary);
    if (!msg) return;
    if (msg.type === 'hello') return this.#onHello(msg);
    if (!this.#hello) return this.#refuse('hello must come first');
    const name = this.#hello.name;
    switch (msg.type) {
      case 'ack':
        this.#d.fleet.acked(name, msg.version, msg.root, this.#d.rootOf(msg.version));
        this.#d.log.info({ replica: name, version: msg.version }, 'replica acknowledged version');
        return;
      case 'nack':
        this.#d.fleet.nacked(name, msg.version, msg.reason);
        this.#d.log.warn(
          { replica: name, version: msg.version, reason: msg.reason },
          'replica refused version',
        );
        // It still holds what it acknowledged last; the next push starts from there (with this
        // master's root for it: none for a version beyond this master's history, so a full manifest).
        this.#sentVersion = this.#d.fleet.versionOf(name) ?? 0;
        this.#sentRoot = this.#d.rootOf(this.#sentVersion);
        return;
      case 'ping': {
        this.#d.fleet.heartbeat(name, msg.load, msg.fault);
        const latest = this.#d.latest();
        this.#ws.send(JSON.stringify({ type: 'pong', version: latest.version, root: latest.root }));
        return;
      }
    }
  }

  #parse(data: Buffer, isBinary: boolean): ReplicaMessage | null {
    if (isBinary) return this.#refuse('binary messages are not part of the protocol');
    let json: unknown;
    try {
      json = JSON.parse(data.toString('utf8'));
    } catch {
      return this.#refuse('message is not JSON');
    }
    const parsed = ReplicaMessageSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.#refuse(`invalid message: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? ''}`);
    }
    return parsed.data;
  }

  #onHello(hello: Hello) {
    if (this.#hello) return this.#refuse('hello was already said');
    if (!SUPPORTED_PROTOCOLS.includes(hello.protocol)) {
      this.#d.log.warn({ replica: hello.name, protocol: hello.protocol }, 'replica speaks another protocol');
      this.close(
        CloseCodes.protocolMismatch,
        `protocol ${hello.protocol} not supported; master speaks ${SUPPORTED_PROTOCOLS.join(' and ')}`,
      );
      return;
    }
    const wrong = wrongReplica(this.credential, hello.name);
    if (wrong) {
      // Once a minute a name, with the count: the refused replica reconnects every few seconds.
      const refused = this.#d.wrongNames ? this.#d.wrongNames.note(hello.name) : 1;
      if (refused > 0)
        this.#d.log.warn(
          { replica: hello.name, refused },
          `replica refused: ${wrong}${refused > 1 ? ` (${refused} refusals since the last line)` : ''}`,
        );
      this.close(CloseCodes.unauthorized, wrong);
      return;
    }
    this.#hello = hello;
    this.#d.claim(hello.name, this);
    const latest = this.#d.latest();
    this.#d.fleet.connected({
      ...hello,
      previousToken: this.credential === 'previous',
      current: hello.version === latest.version && hello.root === latest.root,
    });
    const protocol = Math.min(hello.protocol, PROTOCOL_VERSION);
    this.#ws.send(JSON.stringify({ type: 'welcome', protocol, ...latest }));
    this.#d.log.info(
      { replica: hello.name, region: hello.region, version: hello.version },
      'replica connected',
    );
    if (hello.version === latest.version && hello.root === latest.root) {
      this.#sentVersion = latest.version;
      this.#sentRoot = latest.root;
      return;
    }
    if (heldBeyond(hello, latest)) {
      // Whatever it is sent now it refuses (not newer): it is sent the version cut past it,
      // unless its claim is implausibly far ahead.
      const follow = followable(hello, latest);
      this.#d.log.warn(
        { replica: hello.name, version: hello.version, root: hello.root, latest: latest.version },
        follow
          ? "replica holds a version beyond this master's history (its store was replaced?); a version past it will be cut"
          : "replica claims a version implausibly far beyond this master's latest; not followed",
      );
      this.#sentVersion = hello.version;
      this.#sentRoot = hello.root;
      if (follow) this.#d.beyond?.(hello.version);
      return;
    }
    this.#send(hello.version, hello.root);
    this.#sentVersion = latest.version;
    this.#sentRoot = latest.root;
  }

  /** Sends the manifest from (from, root), in parts to a replica that speaks protocol 2. */
  #send(from: number, root: string | undefined) {
    const parts = (this.#hello?.protocol ?? 1) >= 2;
    for (const msg of this.#d.publishFrom(from, root, parts)) this.#ws.send(msg);
  }

  #refuse(reason: string): null {
    this.#d.log.warn(
      { replica: this.name, reason: reason.slice(0, LIMITS.maxReasonLength) },
      'bad message from replica',
    );
    this.close(CloseCodes.badMessage, reason);
    return null;
  }
}
