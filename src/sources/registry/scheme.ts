/**
 * @module registry/scheme
 * Which scheme (http or https) to use for a registry host.
 *
 * The issue "Registry client" decides: plain HTTP automatically for loopback registries
 * (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`, any port) because a registry on one's own
 * machine is the common development case and is not reachable by anyone else; anywhere else only
 * when the caller says `insecure: true`. Token realms follow a stricter rule (see `auth.ts`).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Split `host[:port]` (with IPv6 in brackets) into the bare host name and the port text.
 * @example splitHostPort('[::1]:5000') // { hostname: '::1', port: '5000' }
 */
export function splitHostPort(host: string): { hostname: string; port: string | null } {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    const hostname = end === -1 ? host.slice(1) : host.slice(1, end);
    const rest = end === -1 ? '' : host.slice(end + 1);
    return { hostname, port: rest.startsWith(':') ? rest.slice(1) : null };
  }
  const colon = host.lastIndexOf(':');
  // A bare IPv6 address has several colons and no port.
  if (colon === -1 || host.indexOf(':') !== colon) return { hostname: host, port: null };
  return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
}

/**
 * True for hosts that can only be this machine: `localhost`, `*.localhost` (RFC 6761 reserves the
 * name for loopback), `127.0.0.0/8` and `::1`, with or without a port.
 */
export function isLoopbackHost(host: string): boolean {
  const hostname = splitHostPort(host).hostname.toLowerCase().replace(/\.$/, '');
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (isIPv4(hostname)) return LOOPBACK.check(hostname, 'ipv4');
  if (isIPv6(hostname)) return LOOPBACK.check(hostname, 'ipv6');
  return false;
}

export type Scheme = 'http' | 'https';

export interface SchemeOptions {
  /** Allow plain HTTP for registries that are not on loopback. */
  insecure?: boolean;
  /**
   * `auto` (default): http for loopback hosts and, with `insecure`, for any host; https otherwise.
   * `https`: always https, for a loopback registry that serves TLS.
   */
  scheme?: 'auto' | 'https';
}

/** The scheme to talk to a registry host with. */
export function schemeFor(host: string, options: SchemeOptions = {}): Scheme {
  if (options.scheme === 'https') return 'https';
  return isLoopbackHost(host) || options.insecure === true ? 'http' : 'https';
}

/** Whether a URL may be used without TLS: https always, http only for loopback or allowed hosts. */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.host));
}
