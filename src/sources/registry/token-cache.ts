/**
 * @module registry/token-cache
 * Bearer tokens kept per registry, service and scope set until they expire, with fetches of the
 * same key coalesced.
 *
 * A token is fetched once per registry and scope even when a hundred resolves start at once (token
 * servers rate-limit, and every fetch is a round trip before the real request): the first caller starts the fetch, the others await the same
 * promise. A failed fetch is not cached, so the next caller tries again.
 */
import type { Token } from './auth.js';

export interface TokenCacheOptions {
  /** Most tokens kept; the oldest is dropped first (default 1000). */
  maxEntries?: number;
  /** Treat a token as expired this long before it does, so a request does not race its expiry. */
  marginMs?: number;
  now?: () => number;
}

/** The cache key: registry host, token service and the sorted, de-duplicated scopes. */
export function tokenCacheKey(
  registry: string,
  service: string | undefined,
  scopes: readonly string[],
): string {
  const sorted = scopes.length === 1 ? scopes[0] : [...new Set(scopes)].sort().join(' ');
  return `${registry}|${service ?? ''}|${sorted}`;
}

export class TokenCache {
  readonly #tokens = new Map<string, Token>();
  readonly #inFlight = new Map<string, Promise<Token>>();
  readonly #maxEntries: number;
  readonly #marginMs: number;
  readonly #now: () => number;

  constructor(options: TokenCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#marginMs = options.marginMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached token for `key`, unless it has (nearly) expired. */
  get(key: string): Token | undefined {
    const token = this.#tokens.get(key);
    if (!token) return undefined;
    if (token.expiresAt - this.#marginMs <= this.#now()) {
      this.#tokens.delete(key);
      return undefined;
    }
    return token;
  }

  set(key: string, token: Token): void {
    this.#tokens.delete(key);
    this.#tokens.set(key, token);
    while (this.#tokens.size > this.#maxEntries) {
      const oldest = this.#tokens.keys().next().value;
      if (oldest === undefined) break;
      this.#tokens.delete(oldest);
    }
  }

  /** Forget a token the registry refused. */
  delete(key: string): void {
    this.#tokens.delete(key);
  }

  get size(): number {
    return this.#tokens.size;
  }

  /**
   * The cached token, or the result of `fetch` (stored on success). Concurrent callers with the
   * same key share one fetch. `cached` tells whether the token was already there.
   */
  async getOrFetch(key: string, fetch: () => Promise<Token>): Promise<{ token: Token; cached: boolean }> {
    const hit = this.get(key);
    if (hit) return { token: hit, cached: true };
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = fetch().then(
        (token) => {
          this.#inFlight.delete(key);
          this.set(key, token);
          return token;
        },
        (error: unknown) => {
          this.#inFlight.delete(key);
          throw error;
        },
      );
      this.#inFlight.set(key, pending);
    }
    return { token: await pending, cached: false };
  }
}
