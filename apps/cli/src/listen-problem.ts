/** A service could not take the address it was told to listen on: the user's to sort out. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** The flags that say where a service listens (as readFlags gives them). */
export interface ListenFlags {
  host?: string | undefined;
  dnsHost?: string | undefined;
  port?: string | undefined;
  zone?: string | undefined;
  dnsPort?: string | undefined;
  httpRedirectPort?: string | undefined;
}

const DEFAULT_DNS_PORT = 5353;

/**
 * One line saying why a service could not listen, and which flag to change; null when `err`
 * is not such a failure. A port in use (DNS's default 5353 is mDNS's, held by avahi on many
 * hosts), a privileged port, or an address no interface has each printed a stack trace before.
 */
export function listenProblem(err: unknown, flags: ListenFlags): string | null {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  if (e?.syscall === 'getaddrinfo' && (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') && e.hostname) {
    // A host name that does not resolve, often an IPv6 address in brackets (as URLs write it).
    const flag = flags.zone !== undefined && e.hostname === flags.dnsHost ? '--dns-host' : '--host';
    const bare = /^\[(.*)\]$/.exec(e.hostname)?.[1];
    return `cannot listen on ${e.hostname}: no such host name; give ${flag} ${bare ? `the address without brackets (${bare})` : 'an IP address or a name this host resolves'}`;
  }
  if (e?.syscall !== 'listen' && e?.syscall !== 'bind') return null;
  const dns = flags.zone !== undefined && e.port === Number(flags.dnsPort ?? DEFAULT_DNS_PORT);
  const redirect = flags.httpRedirectPort !== undefined && e.port === Number(flags.httpRedirectPort);
  const [portFlag, hostFlag] = dns
    ? ['--dns-port', '--dns-host']
    : redirect
      ? ['--http-redirect-port', '--host']
      : ['--port', '--host'];
  // Node leaves the port out of some of these errors (an address not available, say).
  const port = e.port ?? (dns ? (flags.dnsPort ?? DEFAULT_DNS_PORT) : flags.port);
  const host = e.address?.includes(':') ? `[${e.address}]` : e.address;
  const where = port === undefined ? `${host}` : `${host}:${port}`;
  const what = dns ? 'serve DNS on' : 'listen on';
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot ${what} ${where}: another process holds it; give ${portFlag} another port, or stop that process`;
    case 'EACCES':
      return `cannot ${what} ${where}: permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE); give ${portFlag} another port`;
    case 'EADDRNOTAVAIL':
      return `cannot ${what} ${where}: no interface of this host has that address; check ${hostFlag}`;
    default:
      return null;
  }
}
