/**
 * @module core/async
 * The two waiting tools every layer shares: a counting semaphore whose permits are released
 * explicitly, and "wait for this, unless my signal aborts".
 *
 * Permits are released by the holder, not when a function returns, because the registry
 * transport's limit must cover a response until its body has been read: a streamed blob holds a
 * connection long after its headers arrived, so a promise-wrapping limiter (p-limit) would release
 * too early. The resolver holds a permit for the span of one resolution the same way.
 */

/**
 * Wait for `promise`, but stop waiting when `signal` aborts: the promise itself keeps going (it
 * may be shared with other callers; only this caller gives up). The rejection is `signal.reason`,
 * or what `reason` makes of the signal.
 *
 * @example
 * const token = await abortable(sharedTokenFetch, request.signal);
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  reason: (signal: AbortSignal) => unknown = (s) => s.reason,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined); // nobody else may be waiting for it
    return Promise.reject(reason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * What a semaphore's waiter listens to: an `AbortSignal`, or a {@link Cancellation}, which costs
 * a plain object where an `AbortController` costs tens of microseconds in Node 20.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A one-listener cancel signal for one waiter (the resolver takes a queued resolution out of a
 * semaphore's queue with it): `cancel(reason)` tells the listener once.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined;
  }

  cancel(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

/**
 * A counting semaphore: {@link Semaphore.acquire} waits for a permit and returns the function that
 * gives it back. Waiters are served in order; an aborted signal takes a waiter out of the queue.
 *
 * @example
 * const release = await semaphore.acquire(signal);
 * try { await work(); } finally { release(); }
 */
export class Semaphore {
  readonly #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`concurrency must be an integer >= 1, got ${max}`);
    this.#max = max;
  }

  /** Permits in use. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** A permit now, or null when none is free (no promise, no signal: the cheap path). */
  tryAcquire(): (() => void) | null {
    if (this.#active >= this.#max) return null;
    this.#active++;
    return this.#releaser();
  }

  /**
   * Wait for a permit; the returned function gives it back (calling it twice is harmless). An
   * aborted signal stops the wait, rejecting with `signal.reason`.
   */
  acquire(signal?: CancelSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#active++;
        resolve(this.#releaser());
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(grant);
        if (at !== -1) this.#waiting.splice(at, 1);
        reject(signal?.reason);
      };
      this.#waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#waiting.shift()?.();
    };
  }
}

/**
 * One {@link Semaphore} per key, each with the same limit: the transport limits requests per
 * host, the resolver resolutions per registry, so one slow registry never holds another's work.
 */
export class KeyedSemaphore {
  readonly #max: number;
  readonly #byKey = new Map<string, Semaphore>();

  constructor(max: number) {
    new Semaphore(max); // the same check, at construction rather than at the first acquire
    this.#max = max;
  }

  /** Keys with a permit in use or a caller waiting (idle keys are forgotten). */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Wait for a permit of `key`'s semaphore. A key's semaphore lives only while a permit is held or
   * a caller waits, so naming many distinct keys over time (registries named by admission
   * requests) costs no memory once their work is done.
   */
  async acquire(key: string, signal?: CancelSignal): Promise<() => void> {
    const semaphore = this.#semaphore(key);
    let release: () => void;
    try {
      release = await semaphore.acquire(signal);
    } catch (e) {
      this.#forgetIfIdle(key, semaphore);
      throw e;
    }
    return this.#releaser(key, semaphore, release);
  }

  /** A permit of `key` now, or null when its semaphore is full (nothing is queued). */
  tryAcquire(key: string): (() => void) | null {
    const semaphore = this.#semaphore(key);
    const release = semaphore.tryAcquire();
    if (!release) return null;
    return this.#releaser(key, semaphore, release);
  }

  #semaphore(key: string): Semaphore {
    let semaphore = this.#byKey.get(key);
    if (!semaphore) {
      semaphore = new Semaphore(this.#max);
      this.#byKey.set(key, semaphore);
    }
    return semaphore;
  }

  #releaser(key: string, semaphore: Semaphore, release: () => void): () => void {
    return () => {
      release();
      this.#forgetIfIdle(key, semaphore);
    };
  }

  #forgetIfIdle(key: string, semaphore: Semaphore): void {
    if (semaphore.active === 0 && semaphore.pending === 0 && this.#byKey.get(key) === semaphore) {
      this.#byKey.delete(key);
    }
  }
}
