import type { Socket } from 'node:net';
import type { DirectAnswer } from './content-handler.js';
import type { ServerLimits } from './server-limits.js';

/*
 * The bytes of the direct lane's answers on the wire: an answer's own lines (from the content
 * handler), then Date and the connection's lines as node:http writes them, then the body.
 */

let dateSecond = -1;
let dateLine = Buffer.alloc(0);

/** `Date: …\r\n` as node:http writes it, made once a second. */
function dateHeader(): Buffer {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = Buffer.from(`Date: ${new Date(second * 1000).toUTCString()}\r\n`, 'latin1');
  }
  return dateLine;
}

/**
 * Whole answers (head, Date, Connection and body in one buffer) of small files, made once a
 * second each, by the answer's head: one buffer is the cheapest write a socket has (about 9%
 * more answers a second at 4 KiB than a head and a body written together). At most 256 of at
 * most 16 KiB each, 4 MiB in all; the oldest made goes first.
 */
const whole = new Map<Buffer, { second: number; connection: Buffer; body: Buffer; wire: Buffer }>();
const WHOLE_BODY_MAX = 16 * 1024;
const WHOLE_COUNT_MAX = 256;

/** The whole answer of a kept head and body, as made this second. */
function wholeAnswer(lines: Buffer, body: Buffer, connection: Buffer): Buffer {
  const date = dateHeader();
  const made = whole.get(lines);
  if (
    made !== undefined &&
    made.second === dateSecond &&
    made.connection === connection &&
    made.body === body
  )
    return made.wire;
  const wire = Buffer.concat([lines, date, connection, body]);
  // A file's answer made again (a new second) takes its old place; a new file's, the oldest's.
  if (made === undefined && whole.size >= WHOLE_COUNT_MAX) whole.delete(whole.keys().next().value!);
  whole.set(lines, { second: dateSecond, connection, body, wire });
  return wire;
}

/** Whole heads (the answer's lines, Date, Connection) made this second, by the answer's lines. */
const heads = new WeakMap<Buffer, { second: number; connection: Buffer; wire: Buffer }>();

/**
 * The whole head of a kept answer, its own lines, Date and the connection's lines in one
 * buffer, made once a second (a small file too large to be kept whole with its body).
 */
function wholeHead(lines: Buffer, connection: Buffer): Buffer {
  const date = dateHeader();
  const made = heads.get(lines);
  if (made !== undefined && made.second === dateSecond && made.connection === connection) return made.wire;
  const wire = Buffer.concat([lines, date, connection]);
  heads.set(lines, { second: dateSecond, connection, wire });
  return wire;
}

/** What the lane writes after an answer's own headers: node:http's lines for the connection. */
export function connectionLines(l: ServerLimits): { keepAlive: Buffer; close: Buffer } {
  const seconds = Math.floor(l.keepAliveTimeoutMs / 1000);
  const max = l.maxRequestsPerSocket > 0 ? `, max=${l.maxRequestsPerSocket}` : '';
  return {
    keepAlive: Buffer.from(
      `Connection: keep-alive\r\n${l.keepAliveTimeoutMs > 0 ? `Keep-Alive: timeout=${seconds}${max}\r\n` : ''}\r\n`,
    ),
    close: Buffer.from('Connection: close\r\n\r\n'),
  };
}

/**
 * Writes an answer with the connection's lines (one system call: one buffer, or a head and a
 * body corked together); `done` is called once the kernel has it all, or with the error.
 */
export function writeAnswer(
  socket: Socket,
  answer: DirectAnswer,
  connection: Buffer,
  done: ((err?: Error | null) => void) | undefined,
): void {
  const { body } = answer;
  if (body !== undefined && answer.kept && body.length <= WHOLE_BODY_MAX) {
    socket.write(wholeAnswer(answer.head, body, connection), done);
    return;
  }
  // A head made for this answer alone (a 304's, a coded copy's) is not worth keeping.
  const wire = answer.kept
    ? wholeHead(answer.head, connection)
    : Buffer.concat([answer.head, dateHeader(), connection]);
  if (body === undefined) {
    socket.write(wire, done);
    return;
  }
  socket.cork();
  socket.write(wire);
  socket.write(body, done);
  socket.uncork();
}
