/**
 * @module net
 * Host names and listen addresses, shared by the registry client (which speaks plain http to a
 * loopback registry without being told) and the servers (which refuse to serve anyone but this
 * machine without authentication): both must agree on what "this machine" is.
 */
import type { BlockList } from 'node:net';
import { ImgdigestError } from './errors.js';

/**
 * node:net and the loopback ranges, at the first address checked: loading node:net takes some
 * 8 ms, which a command that never looks at a host (`pin --from-lock`, `check` offline) should not
 * pay for importing this module.
 */
let net: { loopback: BlockList; isIPv4(input: string): boolean; isIPv6(input: string): boolean } | undefined;
function loadNet(): NonNullable<typeof net> {
  if (!net) {
    const { BlockList, isIPv4, isIPv6 } = process.getBuiltinModule('node:net');
    const loopback = new BlockList();
    loopback.addSubnet('127.0.0.0', 8, 'ipv4');
    loopback.addAddress('::1', 'ipv6');
    net = { loopback, isIPv4, isIPv6 };
  }
  return net;
}

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
  const { loopback, isIPv4, isIPv6 } = loadNet();
  if (isIPv4(hostname)) return loopback.check(hostname, 'ipv4');
  if (isIPv6(hostname)) return loopback.check(hostname, 'ipv6');
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

/**
 * The proxy variables, lower case first, then upper case (as curl and Go read them): what the
 * registry client's dispatchers are made with, and how the CLI knows whether a proxy is in play.
 */
export function proxyVariables(env: NodeJS.ProcessEnv): {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
} {
  return {
    httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
    noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
  };
}
