import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait-for.js';

/** Sends `head` as it is on a new connection to `url`'s port; resolves with the socket once sent. */
function rawRequest(url: string, head: Buffer) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(head);
  return socket;
}

// What the json access log says of a request, as the reader sent it, and of a response the
// replica's stop cut: nginx's $request, the header's own text, and a line for each response.
describe('the replica access log, as the wire had it', () => {
  let fleet: Fleet;
  let path: string;
  const lines = () =>
    existsSync(path)
      ? readFileSync(path, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];

  beforeAll(async () => {
    fleet = await Fleet.start({
      files: { 'policy.md': 'the policy\n', 'big.bin': Buffer.alloc(20 * 1024 * 1024, 7) },
    });
    path = join(fleet.dir.path, 'logs', 'access.json');
    await fleet.startReplica('uk-london', 'uk', {
      args: ['--access-log', path, '--access-log-format', 'json', '--drain-ms', '300'],
    });
    await fleet.expectConverged();
  });
  afterAll(() => fleet?.stop());

  it('logs an absolute-form target as received, and UTF-8 headers as their text', async () => {
    const socket = rawRequest(
      fleet.replica('uk-london').url,
      Buffer.concat([
        Buffer.from('GET http://other/policy.md?m=abs HTTP/1.1\r\nHost: r\r\nConnection: close\r\n'),
        Buffer.from('User-Agent: ua\xc3\xa9\r\nReferer: http://r/\xc3\xa9\r\n\r\n', 'latin1'),
      ]),
    );
    let answer = '';
    for await (const chunk of socket) answer += chunk;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    const line = await waitFor(() => lines().find((l) => l.url.includes('m=abs')), {
      what: 'the line of the absolute-form request',
    });
    expect(line).toMatchObject({
      url: 'http://other/policy.md?m=abs',
      status: 200,
      userAgent: 'uaé',
      referer: 'http://r/é',
    });
  });

  it('writes the line of a download its stop cut, marked aborted', async () => {
    // A reader that stopped reading: the response cannot end within the drain.
    const socket = rawRequest(
      fleet.replica('uk-london').url,
      Buffer.from('GET /big.bin?m=slow HTTP/1.1\r\nHost: r\r\n\r\n'),
    );
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('data', r));
    socket.pause();
    await fleet.replica('uk-london').stop();
    socket.destroy();
    const cut = lines().filter((l) => l.url === '/big.bin?m=slow');
    expect(cut).toEqual([expect.objectContaining({ status: 200, aborted: true })]);
    // Some of the body had gone out (the reader saw its first bytes), not all of it.
    expect(cut[0]!.bytes).toBeGreaterThan(0);
    expect(cut[0]!.bytes).toBeLessThan(20 * 1024 * 1024);
  });
});
