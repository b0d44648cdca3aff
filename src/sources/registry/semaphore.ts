/**
 * @module registry/semaphore
 * A counting semaphore whose permits are released explicitly, not when a function returns.
 *
 * The per-registry concurrency limit of the issue "Registry client" must cover a response until
 * its body has been read: a streamed blob holds a connection long after its headers arrived, so a
 * promise-wrapping limiter (p-limit) would release too early.
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

  /**
   * Wait for a permit; the returned function gives it back (calling it twice is harmless). An
   * aborted signal stops the wait.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
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
