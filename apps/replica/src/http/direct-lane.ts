import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { closeQuietConnections, quietSinceLastLook } from '@outpost/service';
import { scanHead, type WireHead } from '../serve/wire-head.js';
import type { DirectAnswer } from './content-handler.js';
import type { ServerLimits } from './server-limits.js';
import { connectionLines, writeAnswer } from './wire-answer.js';

/*
 * The direct lane: plain GETs and HEADs of small files answered straight on the socket, with
 * no node:http request or response objects. Through node:http's machinery (parsing into
 * objects, validating each header it is handed, stream bookkeeping) a 4 KiB answer took 31 µs
 * of CPU in bench:serve; written straight, 13 µs.
 *
 * Each connection starts in the lane. Whatever the lane does not answer itself (a head it
 * declines, one cut across reads, anything after) is handed to node:http with the bytes not
 * yet read put back, and the connection stays with node:http from then on, with its parser,
 * limits and timeouts. So every hostile or unusual request is read by node:http's strict
 * parser as before; the lane only ever answers heads it reads exactly as that parser would.
 */

export interface DirectLaneOptions {
  /** The answer to a head, or null to leave the request (and the connection) to node:http. */
  answer: (head: WireHead) => DirectAnswer | null;
  limits: ServerLimits;
  /** Told of each request the lane answers (the load meter). */
  onRequest?: () => void;
  /** Told of each answer once it has been handed to the kernel, or failed to be (the access log). */
  onAnswered?: (a: Answered) => void;
}

/** One answer of the lane, as the access log records it. */
export interface Answered {
  head: WireHead;
  answer: DirectAnswer;
  remote: string;
  /** performance.now() when the head was read. */
  start: number;
  /** The connection failed before the whole answer was handed to the kernel. */
  aborted: boolean;
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/**
 * Puts the direct lane in front of node:http on a plain HTTP server (TLS connections are
 * node:https' alone). Call it right after creating the server, before it listens.
 */
export function installDirectLane(server: Server, o: DirectLaneOptions): void {
  const original = server.listeners('connection');
  const node = original[0] as ConnectionListener | undefined;
  // node:http reads a connection through the listener its constructor adds; nothing else may
  // have been added yet, or connections would reach it twice.
  if (original.length !== 1 || node?.name !== 'connectionListener')
    throw new Error('installDirectLane: call it on a new node:http server');
  server.removeListener('connection', node);
  const lane: Lane = {
    o,
    lines: connectionLines(o.limits),
    connections: new Set(),
    stopping: false,
    handOver: (socket) => node.call(server, socket),
    timedOut: (socket) => requestTimedOut(server, socket),
  };
  server.on('connection', (socket: Socket) => {
    if (lane.stopping) lane.handOver(socket);
    else new LaneConnection(lane, socket);
  });

  // node:http closes its idle connections at a stop (server.close, fastify's close) and cuts
  // them all when the drain is over; the lane's connections go the same way.
  // node:http's idle connections are closed gently: not one whose next request is on its way.
  const closeIdle = () => closeQuietConnections(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    lane.stopping = true;
    for (const c of lane.connections) c.closeIfIdle();
    closeIdle();
  };
  server.closeAllConnections = () => {
    lane.stopping = true;
    for (const c of lane.connections) c.socket.destroy();
    closeAll();
  };
}

/** What the connections of one server's lane share. */
interface Lane {
  o: DirectLaneOptions;
  lines: { keepAlive: Buffer; close: Buffer };
  connections: Set<LaneConnection>;
  /** The server is stopping: no more answers; idle connections close. */
  stopping: boolean;
  /** Gives a connection to node:http. */
  handOver: (socket: Socket) => void;
  /** A new connection sent nothing in time: answered as node:http answers it. */
  timedOut: (socket: Socket) => void;
}

/** What node:http writes for a request timeout when the server has no 'clientError' listener. */
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * A connection that sent nothing within headersTimeout, answered as node:http answers one
 * (socketOnError in lib/_http_server.js): told to the server's 'clientError' listeners (the
 * replica's answers 408 with a problem body), or node:http's own bare 408 without one.
 */
function requestTimedOut(server: Server, socket: Socket): void {
  const err = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
  if (server.emit('clientError', err, socket)) return;
  if (socket.writable) socket.write(REQUEST_TIMEOUT);
  socket.destroy();
}

/** A connection while the lane reads it; it leaves the lane when handed to node:http or closed. */
class LaneConnection {
  readonly socket: Socket;
  readonly #lane: Lane;
  #requests = 0;
  #keptAlive = false;
  /** Bytes read and not answered yet, while the reader is slow to take what was written. */
  #pending: Buffer | null = null;
  readonly #onData = (chunk: Buffer) => this.#answerFrom(chunk);
  readonly #onDrain = () => this.#drained();
  // Idle: none after the last answer (keepAliveTimeout), which node:http closes without a word
  // too; or nothing at all on a new connection (headersTimeout), which node:http answers 408.
  readonly #onTimeout = () => {
    if (this.#requests === 0 && this.#pending === null) this.#lane.timedOut(this.socket);
    else this.socket.destroy();
  };
  // A reader gone (a reset): nothing to answer, nothing to report.
  readonly #onError = () => this.socket.destroy();
  // The reader is done asking (it shut its side): the answers written go out, then we close ours.
  readonly #onEnd = () => this.socket.end();
  readonly #onClose = () => this.#lane.connections.delete(this);

  constructor(lane: Lane, socket: Socket) {
    this.#lane = lane;
    this.socket = socket;
    lane.connections.add(this);
    socket.setNoDelay(true);
    socket.setTimeout(lane.o.limits.headersTimeoutMs);
    for (const [event, listener] of this.#listeners()) socket.on(event, listener);
  }

  /** What the lane listens to on its connection: all of it is taken off at a hand-over. */
  #listeners(): [string, Parameters<EventEmitter['on']>[1]][] {
    return [
      ['data', this.#onData],
      ['drain', this.#onDrain],
      ['timeout', this.#onTimeout],
      ['error', this.#onError],
      ['end', this.#onEnd],
      ['close', this.#onClose],
    ];
  }

  /**
   * Closes the connection unless answers wait to be written (those close it when done), or a
   * request came since the last look (it is answered, with `Connection: close`).
   */
  closeIfIdle(): void {
    if (this.#pending === null && quietSinceLastLook(this.socket)) this.#finish();
  }

  #answerFrom(buf: Buffer): void {
    const { o, lines } = this.#lane;
    let at = 0;
    while (at < buf.length) {
      if (this.socket.writableNeedDrain) {
        // The reader takes the answers more slowly than it asks: wait for it before reading on.
        this.#pending = buf.subarray(at);
        this.socket.pause();
        return;
      }
      const head = scanHead(buf, at, o.limits);
      const answer = head && o.answer(head);
      if (!head || !answer) {
        this.#handOff(buf.subarray(at));
        return;
      }
      at += head.length;
      this.#requests++;
      o.onRequest?.();
      // node:http keeps an HTTP/1.0 connection alive only past an answer with a length: not a
      // 304. A stopping server answers the request that came, and closes after it.
      const last =
        this.#lane.stopping ||
        head.close ||
        this.#requests === o.limits.maxRequestsPerSocket ||
        (head.version === '1.0' && answer.status === 304);
      const connection = last ? lines.close : lines.keepAlive;
      writeAnswer(
        this.socket,
        answer,
        connection,
        o.onAnswered && reporter(o.onAnswered, this.socket, head, answer),
      );
      // What a reader pipelined after its last request is not read, as node:http does.
      if (last) {
        this.#finish();
        return;
      }
    }
    // From the first answer on, the wait is for the next request: keepAliveTimeout.
    if (!this.#keptAlive) {
      this.#keptAlive = true;
      this.socket.setTimeout(o.limits.keepAliveTimeoutMs || o.limits.idleTimeoutMs);
    }
  }

  #drained(): void {
    if (this.#pending === null) return;
    const rest = this.#pending;
    this.#pending = null;
    this.socket.resume();
    this.#answerFrom(rest);
  }

  /** Ends the connection once what was written has gone out; nothing more is read. */
  #finish(): void {
    this.#pending = null;
    this.socket.removeListener('data', this.#onData);
    this.socket.end();
  }

  /** Gives the connection to node:http, with the bytes not answered put back to be read first. */
  #handOff(rest: Buffer): void {
    const s = this.socket;
    for (const [event, listener] of this.#listeners()) s.removeListener(event, listener);
    s.setTimeout(0);
    this.#lane.connections.delete(this);
    // Paused, the bytes put back wait in the stream for node:http's reader; flowing, they would
    // go at once to whatever else listens for data, and node:http would never see them.
    s.pause();
    if (rest.length > 0) s.unshift(rest);
    this.#lane.handOver(s);
    // node:http has its own back-pressure (and so reads on one paused for a slow reader).
    s.resume();
  }
}

/** The write callback that tells `onAnswered` of an answer once the kernel has it. */
function reporter(onAnswered: (a: Answered) => void, socket: Socket, head: WireHead, answer: DirectAnswer) {
  const start = performance.now();
  const remote = socket.remoteAddress ?? '-';
  return (err?: Error | null) => onAnswered({ head, answer, remote, start, aborted: Boolean(err) });
}
