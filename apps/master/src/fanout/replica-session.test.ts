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
});
