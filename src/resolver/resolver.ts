/**
 * @module resolver/resolver
 * "Reference -> digest" for everything that needs many answers: pin, outdated, krm, the webhook.
 * Three things matter at that scale, and each is here once:
 * - caching (LRU with a TTL: tags move, so answers expire),
 * - coalescing (a thousand admissions of `nginx:1.27` at once make one registry request),
 * - a bounded number of resolutions in flight per registry (registries and rate limits are
 *   finite, and one slow registry must not hold the resolutions of another),
 * - optionally, a circuit breaker per registry (breaker.ts): a registry that keeps timing out is
 *   not asked for a while, and its callers fail at once instead of waiting out the timeout.
 *
 * `openResolver` (open.ts) puts a registry or lock files behind this; a `BaseResolve` of your own
 * gets the same cache, coalescing and limits.
 */
import { LRUCache } from 'lru-cache';
import { abortable, Cancellation, KeyedSemaphore } from '../core/async.js';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import type { Reference } from '../core/reference.js';
import { CircuitBreaker, type CircuitBreakerOptions, type Refusal } from './breaker.js';
import type { Resolution, ResolveOptions, Resolver } from './types.js';

/**
 * What a base resolve function answers: a {@link Resolution} whose `resolvedAt` (default: now)
 * and `via` (default `registry`) may be left to the caching layer.
 */
export type BaseResolution = Omit<Resolution, 'via' | 'resolvedAt'> &
  Partial<Pick<Resolution, 'via' | 'resolvedAt'>>;
/**
 * The question a {@link CachingResolver} asks when its cache cannot answer. It is given no signal:
 * the answer is shared by every caller waiting for it.
 */
export type BaseResolve = (reference: Reference, options: ResolveOptions) => Promise<BaseResolution>;

/**
 * The result events {@link CachingResolverOptions.onResult} reports (the webhook's metrics): `hit`
 * (from the cache), `miss` (a new resolution), `coalesced` (joined one in flight), `error` (the
 * base failed), `dropped` (queued work nobody waited for any more), `rejected` (refused at once:
 * the registry's circuit is open).
 */
export type ResolverEvent = 'hit' | 'miss' | 'coalesced' | 'error' | 'dropped' | 'rejected';

export interface CachingResolverOptions {
  /** Most answers kept (default 1000). */
  maxEntries?: number;
  /**
   * Most bytes the kept answers may take, by {@link estimateCacheEntryBytes} (default: no byte
   * bound). The least recently used answers are evicted until the new one fits; an answer larger
   * than the whole bound is not kept.
   */
  maxBytes?: number;
  /** How long an answer stays fresh, in ms (default 60 s; 0 disables caching but keeps coalescing). */
  ttlMs?: number;
  /** Resolutions in flight at once, per registry (default 16). */
  concurrency?: number;
  /** Platform used when a call does not give one. */
  platform?: string;
  /** Called for every answer (for metrics): `hit` from cache, `coalesced` joined an in-flight request. */
  onResult?: (event: ResolverEvent, reference: Reference) => void;
  /** Called once by `close()`: release what the base holds (the registry client's connections). */
  onClose?: () => Promise<void>;
  /**
   * Stop asking a registry that keeps failing (a circuit breaker per registry host; off unless
   * given). Timeouts, network errors and retryable registry errors (5xx, 429) count as failures;
   * any other answer, a 404 included, shows the registry is up.
   */
  breaker?: CircuitBreakerOptions;
}

export interface ResolverStats {
  hits: number;
  misses: number;
  coalesced: number;
  errors: number;
  /** Queued resolutions dropped because every caller waiting for them gave up before they started. */
  dropped: number;
  /** Resolutions refused without asking, because their registry's circuit was open. */
  rejected: number;
}

/** One resolution in flight, shared by every caller that asked for the same key meanwhile. */
interface Flight {
  promise: Promise<Resolution>;
  /** Callers still waiting (a caller without a signal never stops). */
  waiters: number;
  /** True once a permit was granted and the base was asked. */
  started: boolean;
  /** Set when the last waiter left before the flight started: it must not reach the base. */
  dropped: ImgdigestError | null;
  /**
   * Cancelled to take the flight out of the permit queue. Made only when the flight has to queue,
   * and a plain object, not an AbortController (tens of microseconds each in Node 20): a batch
   * with more references in flight than permits queues most of them.
   */
  queued: Cancellation | null;
}

/** The error a caller whose signal aborted sees (a coded reason is passed through). */
function abortError(signal: AbortSignal): ImgdigestError {
  const reason = signal.reason;
  if (reason instanceof ImgdigestError) return reason;
  return new ImgdigestError('TIMEOUT', 'resolution cancelled: the time budget ran out', { cause: reason });
}

/** Whether a failure says the registry is down or overloaded (what the breaker counts). */
export function isRegistryOutage(error: unknown): boolean {
  if (!isImgdigestError(error)) return false;
  if (error.code === 'TIMEOUT' || error.code === 'NETWORK_ERROR') return true;
  return error.code === 'REGISTRY_ERROR' && error.retryable;
}

/**
 * The error of a call refused by an open circuit. It keeps the code of the failure that opened it
 * (a registry that times out still reads as TIMEOUT) and says when the registry is asked again.
 */
function circuitOpenError(refusal: Refusal, now: number): ImgdigestError {
  const last = refusal.lastError;
  const code = isImgdigestError(last) ? last.code : 'REGISTRY_ERROR';
  const lastLine = (last instanceof Error ? last.message : String(last)).split('\n')[0];
  const when =
    refusal.retryAt === undefined
      ? 'not asked until a probe answers'
      : `not asked again for ${Math.max(1, Math.ceil((refusal.retryAt - now) / 1000))} s`;
  return new ImgdigestError(
    code,
    `circuit open: ${refusal.key} failed ${refusal.failures} times in a row (last: ${lastLine}); ${when}`,
    {
      cause: last,
      retryable: true,
      details: {
        registry: refusal.key,
        circuit: 'open',
        failures: refusal.failures,
        ...(refusal.retryAt === undefined ? {} : { retryAt: new Date(refusal.retryAt).toISOString() }),
      },
    },
  );
}

/** What the cache's own bookkeeping of one entry costs beside its key and answer (node, timers, map slot). */
const CACHE_ENTRY_OVERHEAD_BYTES = 256;

/**
 * An estimate of the memory one cached answer holds: its key and the answer as JSON, at two bytes a
 * character (the most a JavaScript string takes), plus the cache's bookkeeping. An estimate, not a
 * measurement: it grows with what grows (long references, a descriptor with annotations), which is
 * what a byte bound must follow.
 */
export function estimateCacheEntryBytes(key: string, answer: Resolution): number {
  return CACHE_ENTRY_OVERHEAD_BYTES + 2 * (key.length + JSON.stringify(answer).length);
}

/**
 * A {@link Resolver} over a base resolve function, with an LRU+TTL cache, in-flight coalescing and
 * a concurrency bound per registry. Errors are not cached: the next call tries again. Queued work
 * that nobody waits for any more is dropped before it reaches the base.
 *
 * @example
 * const resolver = new CachingResolver(async (reference) => ({ reference, ...lookUp(reference) }));
 * const { digest } = await resolver.resolve(parseReference('nginx:1.27'));
 */
export class CachingResolver implements Resolver {
  readonly stats: ResolverStats = { hits: 0, misses: 0, coalesced: 0, errors: 0, dropped: 0, rejected: 0 };
  private readonly cache: LRUCache<string, Resolution> | null;
  private readonly inflight = new Map<string, Flight>();
  private readonly limits: KeyedSemaphore;
  private readonly breaker: CircuitBreaker | null;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly base: BaseResolve,
    private readonly options: CachingResolverOptions = {},
  ) {
    const ttl = options.ttlMs ?? 60_000;
    const max = options.maxEntries ?? 1000;
    const maxSize = options.maxBytes;
    this.cache =
      ttl <= 0
        ? null
        : maxSize !== undefined
          ? new LRUCache({
              max,
              ttl,
              maxSize,
              sizeCalculation: (value, key) => estimateCacheEntryBytes(key, value),
            })
          : new LRUCache({ max, ttl });
    this.limits = new KeyedSemaphore(Math.max(1, options.concurrency ?? 16));
    this.breaker = options.breaker ? new CircuitBreaker(options.breaker) : null;
  }

  // Not an async function: the caller waits for the flight's own promise (an async function
  // returning it would add a promise and two turns of the microtask queue per resolution).
  resolve(reference: Reference, options: ResolveOptions = {}): Promise<Resolution> {
    try {
      const platform = options.platform ?? this.options.platform;
      const key = `${reference.canonical}|${platform ?? ''}`;
      const hit = this.hit(key, reference);
      if (hit) return Promise.resolve(hit);
      let flight = this.inflight.get(key);
      if (flight) {
        this.stats.coalesced++;
        this.options.onResult?.('coalesced', reference);
      } else {
        // An open circuit answers before anything is queued: the caller fails now, not at its deadline.
        const refused = this.breaker?.refusal(reference.registryHost);
        if (refused) throw this.rejected(refused, reference);
        this.stats.misses++;
        this.options.onResult?.('miss', reference);
        flight = this.start(key, reference, platform);
      }
      return this.wait(flight, key, options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The cached answer, without waiting (counted as a `hit` exactly as {@link resolve} counts it), or
   * undefined when only {@link resolve} can answer. The webhook answers a warm admission this way,
   * with no promise, timer or signal per image.
   */
  cached(reference: Reference, options: Pick<ResolveOptions, 'platform'> = {}): Resolution | undefined {
    if (!this.cache) return undefined;
    const platform = options.platform ?? this.options.platform;
    return this.hit(`${reference.canonical}|${platform ?? ''}`, reference);
  }

  private hit(key: string, reference: Reference): Resolution | undefined {
    const cached = this.cache?.get(key);
    if (!cached) return undefined;
    this.stats.hits++;
    this.options.onResult?.('hit', reference);
    return { ...cached, via: 'cache' };
  }

  /** What the cache holds: answers, and their estimated bytes (0 without a byte bound). */
  cacheUsage(): { entries: number; bytes: number } {
    return { entries: this.cache?.size ?? 0, bytes: this.cache?.calculatedSize ?? 0 };
  }

  /** Forget everything cached (the webhook does this on config reload). */
  clear(): void {
    this.cache?.clear();
  }

  /** Release what the base holds (once; later calls wait for the same close). */
  close(): Promise<void> {
    this.closed ??= this.options.onClose?.() ?? Promise.resolve();
    return this.closed;
  }

  /**
   * Start a shared resolution. It is not tied to the first caller's signal: others may join and
   * wait for it; each caller's own signal only stops that caller waiting.
   */
  private start(key: string, reference: Reference, platform: string | undefined): Flight {
    const flight: Flight = {
      promise: undefined as unknown as Promise<Resolution>,
      waiters: 0,
      started: false,
      dropped: null,
      queued: null,
    };
    // One async function per resolution (no wrapper promises for counting and forgetting).
    flight.promise = this.run(flight, key, reference, platform);
    this.inflight.set(key, flight);
    return flight;
  }

  private async run(
    flight: Flight,
    key: string,
    reference: Reference,
    platform: string | undefined,
  ): Promise<Resolution> {
    const host = reference.registryHost;
    try {
      let release = this.limits.tryAcquire(host);
      if (release)
        await undefined; // the callers register (or leave) before the base is asked
      else {
        flight.queued = new Cancellation();
        if (flight.dropped) flight.queued.cancel(flight.dropped);
        release = await this.limits.acquire(host, flight.queued);
      }
      try {
        if (flight.dropped) throw flight.dropped;
        // Work queued before the circuit opened is refused when its turn comes.
        const refused = this.breaker?.admit(host);
        if (refused) throw this.rejected(refused, reference);
        flight.started = true;
        let base: BaseResolution;
        try {
          base = await this.base(reference, platform === undefined ? {} : { platform });
        } catch (e) {
          if (isRegistryOutage(e)) this.breaker?.failed(host, e);
          else this.breaker?.succeeded(host);
          throw e;
        }
        this.breaker?.succeeded(host);
        const answer: Resolution = {
          ...base,
          resolvedAt: base.resolvedAt ?? new Date().toISOString(),
          via: base.via ?? 'registry',
        };
        this.cache?.set(key, answer);
        return answer;
      } finally {
        release();
      }
    } catch (e) {
      if (flight.started) {
        this.stats.errors++;
        this.options.onResult?.('error', reference);
      } else if (flight.dropped) {
        this.stats.dropped++;
        this.options.onResult?.('dropped', reference);
      } // else refused by the breaker, counted by `rejected`
      throw e;
    } finally {
      this.forget(key, flight);
    }
  }

  /** Wait for a flight until `signal` aborts; the last waiter to leave drops it if it has not started. */
  private wait(flight: Flight, key: string, signal: AbortSignal | undefined): Promise<Resolution> {
    flight.waiters++;
    if (!signal) return flight.promise;
    const leave = () => {
      flight.waiters--;
      if (flight.waiters === 0 && !flight.started) {
        this.forget(key, flight);
        flight.dropped = new ImgdigestError('TIMEOUT', 'resolution dropped: nobody waits for it');
        flight.queued?.cancel(flight.dropped);
      }
    };
    if (signal.aborted) leave();
    else {
      signal.addEventListener('abort', leave, { once: true });
      const done = () => signal.removeEventListener('abort', leave);
      flight.promise.then(done, done);
    }
    return abortable(flight.promise, signal, abortError);
  }

  /** Count a refusal and make its error. */
  private rejected(refusal: Refusal, reference: Reference): ImgdigestError {
    this.stats.rejected++;
    this.options.onResult?.('rejected', reference);
    return circuitOpenError(refusal, (this.options.breaker?.now ?? Date.now)());
  }

  private forget(key: string, flight: Flight): void {
    if (this.inflight.get(key) === flight) this.inflight.delete(key);
  }
}
