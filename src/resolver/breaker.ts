/**
 * @module resolver/breaker
 * A circuit breaker per registry: a registry that keeps timing out is not asked again for a
 * while, so the callers behind it fail at once instead of each waiting out the client's timeout
 * (and holding that registry's resolution slots meanwhile).
 *
 * ```
 * closed --failureThreshold failures in a row--> open --coolDownMs later--> half-open
 * half-open: one probe is let through; it answers -> closed, it fails -> open again
 * ```
 *
 * What counts is decided by the caller: the resolver counts timeouts, network errors and
 * retryable registry errors (5xx, 429), and any answer (even a 404 or a 401) as a success, since a
 * registry that answers is up. Only the outcomes of requests that reached the registry count;
 * work dropped before it started says nothing about the registry.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

/** A state change, for metrics and logs. */
export interface CircuitChange {
  key: string;
  from: CircuitState;
  to: CircuitState;
  /** Failures in a row so far. */
  failures: number;
  /** The failure that opened (or re-opened) the circuit. */
  lastError?: unknown;
  /** True when the key was forgotten to keep the table bounded (reported as `closed`). */
  forgotten?: boolean;
}

export interface CircuitBreakerOptions {
  /** Failures in a row that open a circuit (default 5). */
  failureThreshold?: number;
  /** How long an open circuit refuses before one probe is let through, in ms (default 30 s). */
  coolDownMs?: number;
  /** Most keys remembered (default 1000); beyond, the oldest entry is forgotten (closed). */
  maxTracked?: number;
  /** Called on every state change. */
  onStateChange?: (change: CircuitChange) => void;
  /** The clock, in ms (tests). */
  now?: () => number;
}

/** Why a call is refused: enough to write a message that says what happened and when it ends. */
export interface Refusal {
  key: string;
  failures: number;
  lastError: unknown;
  /** Epoch ms when a probe may go out; undefined while a probe is out. */
  retryAt: number | undefined;
}

interface Entry {
  state: CircuitState;
  failures: number;
  lastError: unknown;
  /** open: when the cool-down ends; half-open: when the probe went out. */
  since: number;
}

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_COOL_DOWN_MS = 30_000;
const DEFAULT_MAX_TRACKED = 1000;

/**
 * Circuit breakers by key (the resolver keys them by registry host).
 *
 * @example
 * const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 10_000 });
 * const refused = breaker.admit(host);
 * if (refused) throw new Error(`not asking ${host}: ${refused.failures} failures in a row`);
 * try { await ask(host); breaker.succeeded(host); } catch (e) { breaker.failed(host, e); throw e; }
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #coolDownMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  readonly #onChange: ((change: CircuitChange) => void) | undefined;
  /** Keys with failures, in order of their last failure (a Map keeps insertion order). */
  readonly #entries = new Map<string, Entry>();

  constructor(options: CircuitBreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
    this.#coolDownMs = options.coolDownMs ?? DEFAULT_COOL_DOWN_MS;
    this.#maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
    for (const [name, value, min] of [
      ['failureThreshold', this.#threshold, 1],
      ['coolDownMs', this.#coolDownMs, 0],
      ['maxTracked', this.#maxTracked, 1],
    ] as const) {
      if (!Number.isFinite(value) || value < min)
        throw new RangeError(`${name} must be >= ${min}, got ${value}`);
    }
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onStateChange;
  }

  /** The state of `key` (closed when nothing is known). */
  state(key: string): CircuitState {
    return this.#entries.get(key)?.state ?? 'closed';
  }

  /**
   * Whether a call to `key` would be refused now, without claiming anything: an open circuit
   * still cooling down, or a half-open one whose probe is out.
   */
  refusal(key: string): Refusal | undefined {
    const entry = this.#entries.get(key);
    if (!entry || entry.state === 'closed') return undefined;
    const now = this.#now();
    if (entry.state === 'open' && now >= entry.since) return undefined;
    if (entry.state === 'half-open' && now - entry.since >= this.#coolDownMs) return undefined;
    return {
      key,
      failures: entry.failures,
      lastError: entry.lastError,
      retryAt: entry.state === 'open' ? entry.since : undefined,
    };
  }

  /**
   * Ask to call `key` now: undefined when the call may go ahead (the circuit is closed, or this
   * call is the probe of a half-open one), the refusal otherwise. A probe that never reports back
   * is replaced by another after a cool-down.
   */
  admit(key: string): Refusal | undefined {
    const refused = this.refusal(key);
    if (refused) return refused;
    const entry = this.#entries.get(key);
    if (entry && entry.state !== 'closed') {
      const from = entry.state;
      entry.state = 'half-open';
      entry.since = this.#now();
      if (from !== 'half-open') this.#changed(key, from, entry);
    }
    return undefined;
  }

  /** A call to `key` got an answer: the circuit closes and the count starts again. */
  succeeded(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    if (entry.state !== 'closed') {
      this.#changed(key, entry.state, { ...entry, state: 'closed', failures: 0 });
    }
  }

  /** A call to `key` failed: the threshold reached (or a failed probe) opens the circuit. */
  failed(key: string, error: unknown): void {
    let entry = this.#entries.get(key);
    if (entry)
      this.#entries.delete(key); // re-inserted last: the table is ordered by last failure
    else {
      entry = { state: 'closed', failures: 0, lastError: undefined, since: 0 };
      this.#forgetOldest();
    }
    this.#entries.set(key, entry);
    entry.failures++;
    entry.lastError = error;
    const from = entry.state;
    if (from === 'half-open' || (from === 'closed' && entry.failures >= this.#threshold)) {
      entry.state = 'open';
      entry.since = this.#now() + this.#coolDownMs;
      this.#changed(key, from, entry);
    }
    // Failures of calls that started before the circuit opened leave its cool-down alone.
  }

  #forgetOldest(): void {
    while (this.#entries.size >= this.#maxTracked) {
      const [key, entry] = this.#entries.entries().next().value as [string, Entry];
      this.#entries.delete(key);
      if (entry.state !== 'closed') {
        this.#changed(key, entry.state, { ...entry, state: 'closed' }, true);
      }
    }
  }

  #changed(key: string, from: CircuitState, entry: Entry, forgotten = false): void {
    if (!this.#onChange) return;
    const change: CircuitChange = { key, from, to: entry.state, failures: entry.failures };
    if (entry.state === 'open') change.lastError = entry.lastError;
    if (forgotten) change.forgotten = true;
    this.#onChange(change);
  }
}
