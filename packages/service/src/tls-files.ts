import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '@outpost/protocol';
import type { Logger } from 'pino';

/** Where a service's certificate chain and private key are (PEM). */
export interface TlsPaths {
  cert: string;
  key: string;
}

/** The PEM bytes of a certificate chain and its key, checked to belong together. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** The TLS paths of a configuration, when both are given; a ConfigError when only one is. */
export function tlsPaths(c: {
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}): TlsPaths | undefined {
  if (c.tlsCert === undefined && c.tlsKey === undefined) return undefined;
  if (c.tlsCert === undefined || c.tlsKey === undefined) {
    throw new ConfigError(
      `${c.tlsCert === undefined ? '--tls-key' : '--tls-cert'} needs ${c.tlsCert === undefined ? '--tls-cert' : '--tls-key'} too: HTTPS takes a certificate chain and its private key`,
    );
  }
  return { cert: c.tlsCert, key: c.tlsKey };
}

/**
 * Reads the certificate chain and key and checks that OpenSSL takes them together (a key of
 * another certificate, a file that is no PEM); what is wrong is a ConfigError naming the files.
 */
export function loadTls(paths: TlsPaths): TlsMaterial {
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${flag} ${path}: ${(err as Error).message}`);
    }
  };
  const material = { cert: read('--tls-cert', paths.cert), key: read('--tls-key', paths.key) };
  try {
    createSecureContext(material);
  } catch (err) {
    const why = tlsMistake(material) ?? (err as Error).message;
    throw new ConfigError(`--tls-cert ${paths.cert} and --tls-key ${paths.key} cannot be used: ${why}`);
  }
  return material;
}

/**
 * The usual mistakes behind OpenSSL's terse words, or null: a key under a passphrase ("bad
 * decrypt"), and a chain whose first certificate is not the key's ("key values mismatch",
 * with the CA first, or the chain without the server's own).
 */
function tlsMistake(m: TlsMaterial): string | null {
  const keyText = m.key.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText))
    return 'the key is protected by a passphrase, which a service cannot type: give it the key without one (openssl pkey -in KEY -out PLAIN)';
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(m.key);
  } catch {
    return null;
  }
  const pems =
    m.cert.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const owner = pems.findIndex((pem) => {
    try {
      return new X509Certificate(pem).checkPrivateKey(key);
    } catch {
      return false;
    }
  });
  if (owner > 0)
    return `the key is the certificate's at place ${owner + 1} in the chain file: the server's own certificate must come first, then the CAs`;
  if (owner === -1 && pems.length > 0) return 'the key belongs to no certificate of the chain file';
  return null;
}

/** A certificate this close to its end is warned of at start and at each reload. */
const EXPIRY_WARNING_MS = 14 * 86_400_000;

/** The served (first) certificate's subject and dates, and what is wrong with them at `now`, if anything. */
export function certificateDates(
  cert: Buffer,
  now: number = Date.now(),
): { subject: string; validTo: string; problem: string | null } {
  const c = new X509Certificate(cert);
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  const subject = c.subject.replace(/\n/g, ', ');
  const validTo = new Date(to).toISOString();
  const problem =
    now > to
      ? `expired on ${validTo}: clients refuse it`
      : now < from
        ? `not valid before ${new Date(from).toISOString()}: clients refuse it`
        : to - now < EXPIRY_WARNING_MS
          ? `expires on ${validTo}, in ${Math.ceil((to - now) / 86_400_000)} days: renew it`
          : null;
  return { subject, validTo, problem };
}

/** Logs the certificate in use: a warning when it is out of date or soon will be. */
export function noteCertificate(material: TlsMaterial, paths: TlsPaths, log: Logger, what: string): void {
  const { subject, validTo, problem } = certificateDates(material.cert);
  if (problem) log.warn({ cert: paths.cert, subject, validTo }, `${what}: the TLS certificate ${problem}`);
  else log.info({ cert: paths.cert, subject, validTo }, what);
}

/**
 * Reads the files again into a listening server (after a renewal, on SIGHUP): connections made
 * from then on get the new certificate, those open keep theirs. Files that cannot be used are
 * logged and the certificate in use stays. True when the new one was taken.
 */
export function reloadTls(server: TlsServer, paths: TlsPaths, log: Logger): boolean {
  try {
    const material = loadTls(paths);
    server.setSecureContext(material);
    noteCertificate(material, paths, log, 'TLS certificate reloaded');
    return true;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'TLS certificate not reloaded; the one in use stays');
    return false;
  }
}
