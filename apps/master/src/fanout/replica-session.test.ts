import { EventEmitter } from 'node:events';
import { CloseCodes, PROTOCOL_VERSION } from '@outpost/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { Fleet } from './fleet.js';
import { ReplicaSession } from './replica-session.js';

/** A socket that records what the session sends and how it closes. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: string[] = [];
  closed: { code: number; reason: string } | null = null;
  send(data: string) {
    this.sent.push(data);
  }
  close(code: number, reason: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
}

const ROOT = '0'.repeat(64);

describe('ReplicaSession', () => {
  it('closes only its own link when handling a message throws, and the process goes on', () => {
    const ws = new FakeSocket();
    const fleet = {
      connected: () => {
        throw new Error('a bug, or a store that refused a write');
      },
    } as unknown as Fleet;
    new ReplicaSession(ws as unknown as WebSocket, {
      credential: 'open',
      fleet,
      log: pino({ level: 'silent' }),
      latest: () => ({ version: 1, root: ROOT }),
      rootOf: () => ROOT,
      publishFrom: () => [],
      claim: () => undefined,
      release: () => undefined,
    });
    const hello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      name: 'uk-london',
      region: 'uk',
      version: 1,
      root: ROOT,
    };
    // Thrown out of the listener, this was an uncaught exception: the master ended.
    expect(() => ws.emit('message', Buffer.from(JSON.stringify(hello)), false)).not.toThrow();
    expect(ws.closed).toEqual({
      code: CloseCodes.internalError,
      reason: 'the master failed to handle a message',
    });
  });

  it("after a NACK, sends a delta from what the replica still holds, with that version's root", () => {
    const ws = new FakeSocket();
    const rootOf = (v: number) => `${v}`.repeat(64).slice(0, 64);
    let latest = 3;
    let held = 1;
    const sent: [number, string | undefined][] = [];
    const fleet = {
      connected: () => undefined,
      nacked: () => undefined,
      versionOf: () => held,
    } as unknown as Fleet;
    const session = new ReplicaSession(ws as unknown as WebSocket, {
      credential: 'open',
      fleet,
      log: pino({ level: 'silent' }),
      latest: () => ({ version: latest, root: rootOf(latest) }),
      rootOf,
      publishFrom: (from, root) => {
        sent.push([from, root]);
        return [];
      },
      claim: () => undefined,
      release: () => undefined,
    });
    const say = (msg: object) => ws.emit('message', Buffer.from(JSON.stringify(msg)), false);
    say({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      name: 'uk-london',
      region: 'uk',
      version: 1,
      root: rootOf(1),
    });
    expect(sent).toEqual([[1, rootOf(1)]]);
    // Version 3 refused (a full disk, say): the replica still holds 1.
    say({ type: 'nack', version: 3, reason: 'not enough disk space' });
    latest = 4;
    session.push();
    // From 1 with 1's root: a delta. With 3's root (as before 370e256) the master could not
    // match it to version 1 and sent a full manifest: the same result, more bytes.
    expect(sent.at(-1)).toEqual([1, rootOf(1)]);
    held = 0;
    say({ type: 'nack', version: 4, reason: 'again' });
    latest = 5;
    session.push();
    expect(sent.at(-1)).toEqual([0, rootOf(0)]);
  });
});
