/**
 * @module net
 * Host names and listen addresses, shared by the registry client (which speaks plain http to a
 * loopback registry without being told) and the servers (which refuse to serve anyone but this
 * machine without authentication): both must agree on what "this machine" is.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { ImgdigestError } from './errors.js';

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
 * True for hosts that can only be this machine, with or without a port: `localhost` and
 * `*.localhost` (RFC 6761 section 6.3 reserves the name for loopback, and the WHATWG URL standard
 * treats it as such), `127.0.0.0/8` and `::1`. `0.0.0.0` is not loopback: it means every interface.
 * @see https://www.rfc-editor.org/rfc/rfc6761#section-6.3
 * @example isLoopbackHost('registry.localhost:5000') // true
 * @example isLoopbackHost('localhost.example.com') // false
 */
export function isLoopbackHost(host: string): boolean {
  const hostname = splitHostPort(host).hostname.toLowerCase().replace(/\.$/, '');
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (isIPv4(hostname)) return LOOPBACK.check(hostname, 'ipv4');
  if (isIPv6(hostname)) return LOOPBACK.check(hostname, 'ipv6');
  return false;
}

/**
 * Split a listen address `HOST:PORT`, `[v6]:PORT` or `:PORT` (every interface, `0.0.0.0`).
 * `flag` and `example` only shape the `USAGE` error a person sees.
 * @example parseAddr('[::1]:8443') // { host: '::1', port: 8443 }
 */
export function parseAddr(
  addr: string,
  options: { flag?: string; example?: string } = {},
): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+(?:%[\w.-]+)?)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    const { flag = '--addr', example = '127.0.0.1:5000' } = options;
    throw new ImgdigestError('USAGE', `${flag} must be HOST:PORT (e.g. ${example}), got "${addr}"`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}
