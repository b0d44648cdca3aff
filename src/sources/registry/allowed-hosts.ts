/**
 * @module registry/allowed-hosts
 * The host allow-list of the registry client: when a client is given `allowedHosts`, its transport
 * sends no request to any other host (first requests, redirect hops and token realms alike) and its
 * keychain is never asked for another host's credentials.
 *
 * Why it lives in the transport: a server that fetches what its users name (the explorer bound to a
 * network address) must not become a proxy into the network it runs in. Checking the first URL is
 * not enough, since a registry answers with redirects (`Location`) and Bearer challenges (`realm`)
 * that name any host it likes; only the layer that sends every request can hold the line.
 *
 * Entries: `host` (default ports 443 and 80 only), `host:port` (exactly), `*.example.com` (any
 * sub-domain, default ports). `docker.io` stands for Docker Hub's API host `registry-1.docker.io`.
 */
import { ImgdigestError } from '../../core/errors.js';
import { splitHostPort } from '../../core/net.js';

/** A compiled allow-list: `allows(url)` says whether a request may go there. */
export interface HostAllowList {
  /** The entries as given, for messages. */
  readonly entries: readonly string[];
  allows(url: URL): boolean;
  /** Whether credentials for a registry name (`docker.io`, `127.0.0.1:5000`) may be looked up. */
  allowsRegistry(registry: string): boolean;
}

const HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

interface Entry {
  hostname: string;
  wildcard: boolean;
  port: string | null;
}

function normalizeHostname(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

function parseEntry(text: string): Entry[] {
  const raw = text
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '');
  if (!raw) {
    throw new ImgdigestError('INPUT_INVALID', `invalid allowed host "${text}": it is empty`);
  }
  const { hostname, port } = splitHostPort(raw);
  if (port !== null && !/^\d{1,5}$/.test(port)) {
    throw new ImgdigestError('INPUT_INVALID', `invalid allowed host "${text}": bad port "${port}"`);
  }
  const name = normalizeHostname(hostname);
  const wildcard = name.startsWith('*.');
  const bare = wildcard ? name.slice(2) : name;
  if (!bare || /[\s/@*]/.test(bare)) {
    throw new ImgdigestError('INPUT_INVALID', `invalid allowed host "${text}"`);
  }
  // Docker Hub's names all reach its API host, so listing one lists the others.
  const names = HUB_NAMES.has(bare) ? [...HUB_NAMES] : [bare];
  return names.map((n) => ({ hostname: n, wildcard, port }));
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function matches(entry: Entry, hostname: string, port: string, explicitPort: boolean): boolean {
  const nameOk = entry.wildcard ? hostname.endsWith(`.${entry.hostname}`) : hostname === entry.hostname;
  if (!nameOk) return false;
  if (entry.port !== null) return entry.port === port;
  // An entry without a port allows the scheme's default ports only (not every service on the host).
  return !explicitPort || port === '443' || port === '80';
}

/**
 * Compile an allow-list.
 * @example compileAllowList(['127.0.0.1:5000']).allows(new URL('http://127.0.0.1:5000/v2/')) // true
 * @throws `INPUT_INVALID` for an entry that is not a host name.
 */
export function compileAllowList(hosts: readonly string[]): HostAllowList {
  const entries = hosts.flatMap(parseEntry);
  const allowsHost = (hostname: string, port: string, explicitPort: boolean) =>
    entries.some((e) => matches(e, normalizeHostname(hostname), port, explicitPort));
  return {
    entries: [...hosts],
    allows(url) {
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      return allowsHost(hostname, defaultPort(url), url.port !== '');
    },
    allowsRegistry(registry) {
      const { hostname, port } = splitHostPort(registry);
      return allowsHost(hostname, port ?? '443', port !== null);
    },
  };
}

/** The error for a request to a host outside the list (never sent). */
export function hostNotAllowed(method: string, url: URL, list: HostAllowList, why: string): ImgdigestError {
  return new ImgdigestError(
    'HOST_NOT_ALLOWED',
    `refusing ${method} ${url.origin}${url.pathname}${why}: ${url.host} is not in the allowed registries (${list.entries.join(', ') || 'none'})`,
    { details: { method, host: url.host, allowed: list.entries } },
  );
}
