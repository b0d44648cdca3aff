/**
 * @module resolver/resolver
 * "Reference -> digest" for everything that needs many answers: pin, outdated, the webhook and the
 * quick start. Three things matter at that scale, and each is here once:
 * - caching (LRU with a TTL: tags move, so answers expire),
 * - coalescing (a thousand admissions of `nginx:1.27` at once make one registry request),
 * - a bounded number of resolutions in flight (registries and rate limits are finite).
 */
import { LRUCache } from 'lru-cache';
import { ImgdigestError } from '../core/errors.js';
import type { Reference } from '../core/reference.js';
import type { RegistryClientOptions } from '../sources/registry/index.js';
import type { Resolution, ResolveOptions, Resolver } from './types.js';

/** What a base resolver returns; the caching layer adds `via` and `resolvedAt`. */
export type BaseResolution = Omit<Resolution, 'via' | 'resolvedAt'>;
export type BaseResolve = (reference: Reference, options: ResolveOptions) => Promise<BaseResolution>;

export interface CachingResolverOptions {
  /** Most answers kept (default 1000). */
  maxEntries?: number;
  /** How long an answer stays fresh, in ms (default 60 s; 0 disables caching but keeps coalescing). */
  ttlMs?: number;
  /** Resolutions in flight at once (default 16). */
  concurrency?: number;
  /** Platform used when a call does not give one. */
  platform?: string;
  /** Called for every answer (for metrics): `hit` from cache, `coalesced` joined an in-flight request. */
  onResult?: (event: 'hit' | 'miss' | 'coalesced' | 'error', reference: Reference) => void;
}

export interface ResolverStats {
  hits: number;
  misses: number;
  coalesced: number;
  errors: number;
}

/** A small counting semaphore: `run` waits for a free slot. */
class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.max) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.queue.indexOf(go);
          if (i >= 0) this.queue.splice(i, 1);
          reject(abortError(signal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.queue.push(go);
      });
    }
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

function abortError(signal: AbortSignal | undefined): ImgdigestError {
  const reason = signal?.reason;
  if (reason instanceof ImgdigestError) return reason;
  return new ImgdigestError('TIMEOUT', 'resolution cancelled: the time budget ran out', { cause: reason });
}

/** Wait for `promise`, but give up when `signal` aborts (the shared request keeps going for others). */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Wraps a base resolve function with an LRU+TTL cache, in-flight coalescing and a concurrency
 * bound. Errors are not cached: the next call tries again.
 */
export class CachingResolver implements Resolver {
  readonly stats: ResolverStats = { hits: 0, misses: 0, coalesced: 0, errors: 0 };
  private readonly cache: LRUCache<string, Resolution> | null;
  private readonly inflight = new Map<string, Promise<Resolution>>();
  private readonly limiter: Limiter;

  constructor(
    private readonly base: BaseResolve,
    private readonly options: CachingResolverOptions = {},
  ) {
    const ttl = options.ttlMs ?? 60_000;
    this.cache = ttl > 0 ? new LRUCache({ max: options.maxEntries ?? 1000, ttl }) : null;
    this.limiter = new Limiter(Math.max(1, options.concurrency ?? 16));
  }

  async resolve(reference: Reference, options: ResolveOptions = {}): Promise<Resolution> {
    const platform = options.platform ?? this.options.platform;
    const key = `${reference.canonical}|${platform ?? ''}`;
    const cached = this.cache?.get(key);
    if (cached) {
      this.stats.hits++;
      this.options.onResult?.('hit', reference);
      return { ...cached, via: 'cache' };
    }
    const pending = this.inflight.get(key);
    if (pending) {
      this.stats.coalesced++;
      this.options.onResult?.('coalesced', reference);
      return raceSignal(pending, options.signal);
    }
    this.stats.misses++;
    this.options.onResult?.('miss', reference);
    // The shared request is not tied to the first caller's signal: other callers may still wait
    // for it. Each caller's own signal only stops that caller waiting.
    const request = this.limiter
      .run(async () => {
        const base = await this.base(reference, platform === undefined ? {} : { platform });
        const answer: Resolution = { ...base, resolvedAt: new Date().toISOString(), via: 'registry' };
        this.cache?.set(key, answer);
        return answer;
      })
      .catch((e: unknown) => {
        this.stats.errors++;
        this.options.onResult?.('error', reference);
        throw e;
      })
      .finally(() => {
        this.inflight.delete(key);
      });
    this.inflight.set(key, request);
    return raceSignal(request, options.signal);
  }

  /** Forget everything cached (the webhook does this on config reload). */
  clear(): void {
    this.cache?.clear();
  }
}

export interface CreateResolverOptions extends CachingResolverOptions {
  /** Options for the registry client (credentials, TLS, retries, logger). */
  registry?: RegistryClientOptions;
}

/** A resolver backed by the registry client: HEAD per tag, GET of the index only with a platform. */
export async function createResolver(
  options: CreateResolverOptions = {},
): Promise<CachingResolver & { close(): Promise<void> }> {
  const { RegistryClient } = await import('../sources/registry/index.js');
  const { resolveDigest } = await import('../sources/image.js');
  const client = new RegistryClient(options.registry ?? {});
  const base: BaseResolve = async (reference, opts) => {
    const source = client.openSource(reference);
    const answer = await resolveDigest(source, {
      ...(opts.platform === undefined ? {} : { platform: opts.platform }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    const result: BaseResolution = {
      reference,
      digest: answer.digest,
      // A registry only ever names an index or a manifest.
      kind: answer.kind === 'index' ? 'index' : 'manifest',
      mediaType: answer.mediaType,
      size: answer.size,
    };
    if (opts.platform !== undefined && answer.platform) result.platform = answer.platform;
    return result;
  };
  const resolver = new CachingResolver(base, options) as CachingResolver & { close(): Promise<void> };
  resolver.close = async () => {
    await client.close?.();
  };
  return resolver;
}
