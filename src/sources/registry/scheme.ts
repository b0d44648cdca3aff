/**
 * @module registry/scheme
 * Which scheme (http or https) to use for a registry host.
 *
 * Plain HTTP automatically for loopback registries (`localhost`, `*.localhost`, `127.0.0.0/8`,
 * `[::1]`, any port; see `isLoopbackHost` in core/net.ts) because a registry on one's own machine
 * is the common development case and is not reachable by anyone else (Docker and containerd make
 * the same exception for `localhost`); anywhere else only when the caller says `insecure: true`.
 * Token realms follow a stricter rule (see `auth.ts`).
 */
import { isLoopbackHost } from '../../core/net.js';

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
