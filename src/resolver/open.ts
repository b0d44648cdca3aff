/**
 * @module resolver/open
 * `openResolver`: the one way pin, outdated, krm, `webhook manifests --image` and the webhook get a
 * resolver. Whatever answers (a registry, lock files, a base function of your own), the resolver
 * returned is a {@link CachingResolver}: coalesced, bounded per registry, and closed with `close()`.
 */
import type { RegistryClient, RegistryClientOptions } from '../sources/registry/index.js';
import type { CircuitBreakerOptions } from './breaker.js';
import { lockBase, readLocks } from './lock.js';
import {
  type BaseResolution,
  type BaseResolve,
  CachingResolver,
  type CachingResolverOptions,
} from './resolver.js';

/** The answer cache of {@link openResolver}. */
export interface ResolverCacheOptions {
  /** How long an answer stays fresh, in ms (default 60 s; 0 keeps none, coalescing stays). */
  ttlMs?: number;
  /** Most answers kept (default 1000). */
  maxEntries?: number;
  /** Most bytes the kept answers may take, estimated (default: no byte bound). */
  maxBytes?: number;
}

export interface OpenResolverOptions {
  /** Registry client options: credentials, TLS, timeouts, retries, logger. */
  registry?: RegistryClientOptions;
  /**
   * Ask the registries through this client instead of a new one (`registry` is then ignored): a
   * command that also copies keeps one client, one connection pool and one limit. Not closed by
   * the resolver.
   */
  client?: RegistryClient;
  /**
   * Answer from these lock files and build outputs only (later ones win): no network at all, and
   * a reference they do not hold fails with `LOCK_MISSING`.
   */
  locks?: readonly string[];
  /** Ask this instead of a registry or locks (a source of your own, tests). */
  base?: BaseResolve;
  /** The platform to resolve to when a call gives none (`os/arch[/variant]`). */
  platform?: string;
  /** Resolutions in flight at once, per registry (default 16). */
  concurrency?: number;
  /** The answer cache (lock answers are never cached: they are local already). */
  cache?: ResolverCacheOptions;
  /** Called for every answer: `hit`, `miss`, `coalesced`, `error`, `dropped`, `rejected` (the webhook's metrics). */
  onResult?: CachingResolverOptions['onResult'];
  /** Stop asking a registry that keeps failing, for a cool-down (off unless given; see breaker.ts). */
  breaker?: CircuitBreakerOptions;
}

/**
 * A resolver: from `base` when given, else from `locks` when given, else from the registries
 * (`registry` options). Close it when done: a registry resolver holds connections.
 *
 * @example
 * const resolver = await openResolver({ registry: { anonymous: true }, concurrency: 8 });
 * try {
 *   const { digest } = await resolver.resolve(parseReference('nginx:1.27'));
 * } finally {
 *   await resolver.close();
 * }
 */
export async function openResolver(options: OpenResolverOptions = {}): Promise<CachingResolver> {
  const common: CachingResolverOptions = {};
  if (options.platform !== undefined) common.platform = options.platform;
  if (options.concurrency !== undefined) common.concurrency = options.concurrency;
  if (options.onResult) common.onResult = options.onResult;
  if (options.breaker) common.breaker = options.breaker;
  const cache = options.cache ?? {};
  if (cache.ttlMs !== undefined) common.ttlMs = cache.ttlMs;
  if (cache.maxEntries !== undefined) common.maxEntries = cache.maxEntries;
  if (cache.maxBytes !== undefined) common.maxBytes = cache.maxBytes;

  if (options.base) return new CachingResolver(options.base, common);
  if (options.locks && options.locks.length > 0) {
    return new CachingResolver(lockBase(await readLocks(options.locks)), { ...common, ttlMs: 0 });
  }
  // Loaded here, not at the top: a lock or a base of your own never needs the registry client.
  const { RegistryClient } = await import('../sources/registry/index.js');
  const { resolveDigest } = await import('../sources/image.js');
  const client = options.client ?? new RegistryClient(options.registry ?? {});
  const base: BaseResolve = async (reference, opts) => {
    const platform = opts.platform;
    if (platform === undefined) {
      // What resolveDigest does without a platform (one HEAD, a GET when the registry sends no
      // digest), without the source object around it: this is the hot path of many tags.
      const { digest, kind, mediaType, size, resolvedAt } = await client.resolve(reference);
      // resolvedAt is when the registry answered (the client's own clock reading, not a second one).
      return {
        reference,
        digest,
        kind: kind === 'index' ? 'index' : 'manifest',
        mediaType,
        size,
        resolvedAt,
      };
    }
    const answer = await resolveDigest(
      client.openSource(reference),
      platform === undefined ? {} : { platform },
    );
    // Only what a cache should keep: no descriptor, no manifest bytes.
    const result: BaseResolution = {
      reference,
      digest: answer.digest,
      // A registry only ever names an index or a manifest.
      kind: answer.kind === 'index' ? 'index' : 'manifest',
      mediaType: answer.mediaType,
      size: answer.size,
    };
    if (platform !== undefined && answer.platform) result.platform = answer.platform;
    if (answer.index) result.index = answer.index;
    return result;
  };
  if (options.client) return new CachingResolver(base, common);
  return new CachingResolver(base, { ...common, onClose: async () => client.close() });
}

/** @deprecated The options of {@link createResolver}; use {@link OpenResolverOptions}. */
export interface CreateResolverOptions extends CachingResolverOptions {
  /** Options for the registry client (credentials, TLS, retries, logger). */
  registry?: RegistryClientOptions;
}

/** @deprecated Use {@link openResolver} (`cache: { ttlMs, maxEntries }` instead of flat options). */
export function createResolver(options: CreateResolverOptions = {}): Promise<CachingResolver> {
  const { ttlMs, maxEntries, maxBytes, onClose: _ignored, ...rest } = options;
  const cache: ResolverCacheOptions = {};
  if (ttlMs !== undefined) cache.ttlMs = ttlMs;
  if (maxEntries !== undefined) cache.maxEntries = maxEntries;
  if (maxBytes !== undefined) cache.maxBytes = maxBytes;
  return openResolver({ ...rest, cache });
}
