import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:tls';
import { ConfigError } from '@outpost/protocol';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { certificateDates, loadTls, reloadTls, tlsPaths } from './tls-files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-tls-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('tlsPaths', () => {
  it('is nothing without either flag, both paths with both', () => {
    expect(tlsPaths({})).toBeUndefined();
    expect(tlsPaths({ tlsCert: 'c.pem', tlsKey: 'k.pem' })).toEqual({ cert: 'c.pem', key: 'k.pem' });
  });

  it('refuses half of the pair, naming what is missing', () => {
    expect(() => tlsPaths({ tlsCert: 'c.pem' })).toThrow(
      new ConfigError('--tls-cert needs --tls-key too: HTTPS takes a certificate chain and its private key'),
    );
    expect(() => tlsPaths({ tlsKey: 'k.pem' })).toThrow(/^--tls-key needs --tls-cert too/);
  });
});

describe('loadTls and reloadTls', () => {
  it('names a file that cannot be read, and files that are no certificate and key', () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    expect(() => loadTls({ cert, key })).toThrow(new RegExp(`^--tls-cert ${cert}: ENOENT`));
    writeFileSync(cert, 'not a certificate\n');
    expect(() => loadTls({ cert, key })).toThrow(new RegExp(`^--tls-key ${key}: ENOENT`));
    writeFileSync(key, 'not a key\n');
    expect(() => loadTls({ cert, key })).toThrow(ConfigError);
    expect(() => loadTls({ cert, key })).toThrow(`--tls-cert ${cert} and --tls-key ${key} cannot be used: `);
  });

  it('keeps the certificate in use when the new files cannot be used, and says so', () => {
    const server = { setSecureContext: vi.fn() } as unknown as Server;
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    expect(reloadTls(server, { cert: join(dir, 'gone.pem'), key: join(dir, 'gone.key') }, log)).toBe(false);
    expect(server.setSecureContext).not.toHaveBeenCalled();
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 50,
      msg: 'TLS certificate not reloaded; the one in use stays',
      err: expect.stringContaining('gone.pem: ENOENT'),
    });
  });
});

describe('certificateDates', () => {
  const cert = readFileSync(join(import.meta.dirname, '../../../test/fixtures/tls/server1.pem'));
  const { validTo } = certificateDates(cert);
  const end = Date.parse(validTo);

  it('names the subject and end of the certificate served, and nothing wrong while it is fresh', () => {
    const d = certificateDates(cert, end - 30 * 86_400_000);
    expect(d.subject).toMatch(/CN=/);
    expect(d.problem).toBeNull();
  });

  it('says when it has expired, is not valid yet, or ends within two weeks', () => {
    expect(certificateDates(cert, end + 1000).problem).toMatch(/^expired on .*: clients refuse it$/);
    expect(certificateDates(cert, 0).problem).toMatch(/^not valid before /);
    expect(certificateDates(cert, end - 3 * 86_400_000).problem).toMatch(
      /^expires on .*, in 3 days: renew it$/,
    );
  });

  it('is said at each reload, as a warning when something is wrong', () => {
    const lines: { level: number; msg: string; subject?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const paths = {
      cert: join(import.meta.dirname, '../../../test/fixtures/tls/server1.pem'),
      key: join(import.meta.dirname, '../../../test/fixtures/tls/server1.key'),
    };
    const server = { setSecureContext: vi.fn() } as unknown as Server;
    expect(reloadTls(server, paths, log)).toBe(true);
    expect(lines.at(-1)).toMatchObject({
      msg: 'TLS certificate reloaded',
      subject: expect.stringMatching(/CN=/),
    });
  });
});

describe('what loadTls says of the usual mistakes', () => {
  const fixture = (name: string) =>
    readFileSync(join(import.meta.dirname, `../../../test/fixtures/tls/${name}`));
  const attempt = (cert: Buffer, key: Buffer | string) => {
    writeFileSync(join(dir, 'c.pem'), cert);
    writeFileSync(join(dir, 'k.pem'), key);
    return () => loadTls({ cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') });
  };

  it('a key under a passphrase', () => {
    const locked = createPrivateKey(fixture('server1.key')).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    });
    expect(attempt(fixture('server1.pem'), locked)).toThrow(/the key is protected by a passphrase/);
  });

  it('a chain with the CA first, and a key of another certificate', () => {
    expect(
      attempt(Buffer.concat([fixture('ca.pem'), fixture('server1.pem')]), fixture('server1.key')),
    ).toThrow(
      /the key is the certificate's at place 2 in the chain file: the server's own certificate must come first/,
    );
    expect(attempt(fixture('server1.pem'), fixture('server2.key'))).toThrow(
      /the key belongs to no certificate of the chain file/,
    );
  });
});
