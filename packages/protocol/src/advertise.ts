import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

/** Where readers reach a replica, as a replica advertises it. */
export interface Advertised {
  /** An IP address (IPv6 without brackets) or a host name. */
  host: string;
  port: number | null;
  /** 4 or 6 for an IP address, 0 for a host name. */
  family: 0 | 4 | 6;
}

const HOSTNAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * Parses an advertised address: `IP`, `IP:PORT`, `[IPv6]`, `[IPv6]:PORT`, a bare IPv6 address,
 * `HOST` or `HOST:PORT`. Returns an error message a user can act on when it is none of them.
 */
export function parseAdvertise(value: string): Advertised | { error: string } {
  const v = value.trim();
  if (v.length === 0 || v.length > 300) return { error: 'must be HOST, HOST:PORT, IP or [IPv6]:PORT' };
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
    if (!isIPv6(host)) return { error: `'${host}' in brackets is not an IPv6 address` };
  } else if (isIPv6(v)) {
    host = v;
  } else {
    const colon = v.lastIndexOf(':');
    if (colon >= 0) {
      if (v.indexOf(':') !== colon)
        return { error: 'an IPv6 address with a port goes in brackets: [::1]:8080' };
      host = v.slice(0, colon);
      portText = v.slice(colon + 1);
    } else host = v;
  }
  let port: number | null = null;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) return { error: `port '${portText}' is not 1-65535` };
  }
  if ((isIPv4(host) || isIPv6(host)) && !isConcreteIp(host))
    return {
      error: host.includes('%')
        ? `'${host}' is scoped to one of this host's interfaces (%zone): readers elsewhere cannot use it`
        : `'${host}' is a wildcard to listen on, not an address readers can reach`,
    };
  if (isIPv4(host)) return { host, port, family: 4 };
  if (isIPv6(host)) return { host: host.toLowerCase(), port, family: 6 };
  if (/^[\d.]+$/.test(host)) return { error: `'${host}' is not an IPv4 address` };
  if (!HOSTNAME.test(host)) return { error: `'${host}' is neither an IP address nor a host name` };
  return { host: host.toLowerCase().replace(/\.$/, ''), port, family: 0 };
}

/** Formats host and port the way `parseAdvertise` reads them back. */
export function formatAdvertise(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * True for an address a reader could connect to: not 0.0.0.0 or ::, nor an IPv6 address scoped
 * to an interface of this host (`fe80::1%eth0`: the zone means nothing elsewhere, nor in DNS).
 */
export function isConcreteIp(host: string): boolean {
  if (isIPv4(host)) return host !== '0.0.0.0';
  if (isIPv6(host)) return !/^[0:]+$/.test(host) && !host.includes('%');
  return false;
}

/**
 * A replica's advertised address, checked: HOST, HOST:PORT, IP or [IPv6]:PORT. The same at
 * every boundary: its flag, its hello, its pulls (the master took `<script>:80` from a pull,
 * which the flag refuses, and showed it in status).
 */
export const AdvertiseAddress = z
  .string()
  .max(300)
  .superRefine((v, ctx) => {
    const parsed = parseAdvertise(v);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: `bad address '${v}': ${parsed.error}` });
  });
