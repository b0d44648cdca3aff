/**
 * @module registry/retry
 * When and how long to wait before trying a registry request again.
 *
 * 408, 429, 5xx and network errors are retried with exponential backoff and jitter (so a hundred
 * clients turned away together do not come back together), honouring `Retry-After` (seconds or an
 * HTTP date, RFC 9110 section 10.2.3), bounded both in count and in total time so a command never
 * hangs on a registry that keeps failing. This module only computes decisions and delays; the transport applies
 * them, so the timing rules can be tested without a network.
 */
import { ImgdigestError } from '../../core/errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt (default 3). 0 disables retrying. */
  maxRetries: number;
  /** The first backoff delay before jitter (default 500 ms). */
  minDelayMs: number;
  /** No single wait is longer than this; a `Retry-After` asking for more ends the retrying. */
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt. */
  maxTotalMs: number;
  /**
   * Retry a refused connection (default true): a registry restarting, a port-forward not up yet.
   * The admission webhook turns it off: inside its time budget, waiting on a registry that refuses
   * only turns a quick answer into a slow one, and its circuit breaker handles an outage.
   */
  refusedConnections: boolean;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 3,
  minDelayMs: 500,
  maxDelayMs: 10_000,
  maxTotalMs: 60_000,
  refusedConnections: true,
});

/** A complete policy from a partial one, with the numbers checked. */
export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(partial) };
  for (const [key, value] of Object.entries(policy)) {
    if (key === 'refusedConnections') continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ImgdigestError('CONFIG_INVALID', `retry.${key} must be a number >= 0, got ${value}`, {
        details: { [key]: value },
      });
    }
  }
  return policy;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Statuses worth another try: 408 Request Timeout, 429 Too Many Requests and server errors. 501
 * (Not Implemented) and 505 (HTTP Version Not Supported) never change on a retry.
 */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505)
  );
}

/**
 * Network failures that a fresh connection may not repeat: a refused connection (a registry
 * restarting, a port-forward or service not up yet), resets, broken pipes, a peer closing a
 * kept-alive socket, DNS hiccups. An unknown host is not retried: the name is wrong, and waiting
 * would only delay the error. `--retries 0` fails at the first refusal.
 */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a thrown network error (undici or Node) is worth another try; a refused connection
 * only while `policy.refusedConnections` is not false.
 */
export function isRetryableNetworkError(
  error: unknown,
  policy: Pick<Partial<RetryPolicy>, 'refusedConnections'> = {},
): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' && policy.refusedConnections === false) return false;
    if (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) return true;
    // `localhost` is tried at each of its addresses: Node reports one AggregateError for all.
    current = current instanceof AggregateError ? current.errors[0] : (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The wait a `Retry-After` header asks for, in milliseconds: delta-seconds or an HTTP date
 * (RFC 9110 section 10.2.3). Null when absent or unreadable; never negative.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/**
 * The backoff before retry number `attempt` (0 for the first retry): exponential from
 * `minDelayMs`, capped at `maxDelayMs`, with "equal jitter" (half fixed, half random) so that
 * many clients failing together do not come back together.
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
  return Math.round(base / 2 + random() * (base / 2));
}

export interface RetryDecisionInput {
  /** Retries already made (0 after the first attempt failed). */
  retries: number;
  /** Time since the first attempt started. */
  elapsedMs: number;
  /** The wait a `Retry-After` header asked for, if any. */
  retryAfterMs?: number | null;
  random?: () => number;
}

/**
 * How long to wait before the next attempt, or null to stop: the retry budget is spent, the total
 * time would be exceeded, or the server asks for a longer wait than `maxDelayMs`.
 */
export function nextRetryDelay(policy: RetryPolicy, input: RetryDecisionInput): number | null {
  if (input.retries >= policy.maxRetries) return null;
  let delay: number;
  if (input.retryAfterMs !== undefined && input.retryAfterMs !== null) {
    // The server said when; asking sooner would only earn another 429.
    if (input.retryAfterMs > policy.maxDelayMs) return null;
    delay = input.retryAfterMs;
  } else {
    delay = backoffDelay(input.retries, policy, input.random);
  }
  if (input.elapsedMs + delay > policy.maxTotalMs) return null;
  return delay;
}

/** Wait `ms`, or reject with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
