import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { describeLinkFailure, LinkTrouble } from './link-trouble.js';
import { PullError } from './pull-client.js';

const MASTER = 'http://hq.example:7070';
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('describeLinkFailure', () => {
  it('says what to fix for each way the master cannot be reached', () => {
    expect(describeLinkFailure(coded('ECONNREFUSED'), MASTER)).toBe(
      'cannot reach the master at http://hq.example:7070: connection refused (is it running, on that port?)',
    );
    expect(describeLinkFailure(coded('ENOTFOUND'), MASTER)).toBe(
      'cannot reach the master at http://hq.example:7070: its host name does not resolve',
    );
    expect(
      describeLinkFailure(coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), MASTER),
    ).toContain(
      'its TLS certificate is not trusted here (self-signed certificate; NODE_EXTRA_CA_CERTS names a CA file to trust)',
    );
    expect(describeLinkFailure(new PullError('master answered 404: {}', 404), MASTER)).toBe(
      "http://hq.example:7070 answers, but not as an outpost master (GET /_outpost/api/v1/manifest: 404): is --master another replica's address, or another server's?",
    );
    // Another office's token: the master's own words, not its JSON.
    const detail = "this replication token is replica uk-london's, not us-west's";
    expect(describeLinkFailure(new PullError(`master answered 403: ${detail}`, 403, detail), MASTER)).toBe(
      `master refused us (403): ${detail}`,
    );
    // An HTTPS master asked in plain HTTP closes the connection without a word.
    expect(describeLinkFailure(coded('UND_ERR_SOCKET', 'other side closed'), 'http://hq:7070')).toBe(
      'cannot reach the master at http://hq:7070: other side closed (does it serve HTTPS? then --master https://hq:7070)',
    );
    expect(describeLinkFailure(new PullError('master answered 401', 401), MASTER)).toBe(
      'master refused our token (401)',
    );
    expect(describeLinkFailure(new PullError('master answered 503', 503), MASTER)).toBe(
      'the master at http://hq.example:7070 answered 503',
    );
    expect(describeLinkFailure(new PullError('manifest is not JSON: Unexpected token <'), MASTER)).toBe(
      'http://hq.example:7070 answered with no manifest (manifest is not JSON: Unexpected token <): is --master an outpost master?',
    );
    // A master frozen (SIGSTOP) took the connection and never answered: undici's timeout.
    expect(describeLinkFailure(coded('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'), MASTER)).toBe(
      'cannot reach the master at http://hq.example:7070: it took the connection but did not answer in time (stopped, overloaded, or a proxy in between that hangs?)',
    );
    expect(describeLinkFailure(new Error('other'), MASTER)).toBe(
      'cannot reach the master at http://hq.example:7070: other',
    );
  });
});

describe('LinkTrouble', () => {
  it('logs when trouble starts or changes and once a minute while it lasts, and clears once reached', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l).msg) });
    const t = new LinkTrouble(log, MASTER);
    const t0 = 1_000_000;
    t.failed(coded('ECONNREFUSED'), t0);
    t.failed(coded('ECONNREFUSED'), t0 + 2_000);
    t.failed(coded('ECONNREFUSED'), t0 + 30_000);
    expect(lines).toHaveLength(1);
    t.failed(coded('ENOTFOUND'), t0 + 32_000);
    expect(lines).toHaveLength(2);
    t.failed(coded('ENOTFOUND'), t0 + 92_000);
    expect(lines).toHaveLength(3);
    expect(t.message).toContain('does not resolve');
    t.reached();
    expect(t.message).toBeNull();
    expect(lines.at(-1)).toBe('master reached again');
  });

  it('says each of two reasons an outage alternates between once a minute, not at each change', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l).msg) });
    const t = new LinkTrouble(log, MASTER);
    const t0 = 1_000_000;
    for (let i = 0; i < 12; i++) t.failed(coded(i % 2 === 0 ? 'ECONNRESET' : 'ECONNREFUSED'), t0 + i * 1_000);
    expect(lines).toHaveLength(2);
    t.failed(coded('ECONNRESET'), t0 + 61_000);
    expect(lines).toHaveLength(3);
  });
});
