import { describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableNetworkError,
  isRetryableStatus,
  nextRetryDelay,
  parseRetryAfter,
  retryPolicy,
  sleep,
} from './retry.js';

const policy = retryPolicy({ maxRetries: 3, minDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 5000 });

describe('retry timing', () => {
  it('retries 408, 429 and server errors, not client errors or 501', () => {
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [200, 400, 401, 403, 404, 409, 501, 505]) expect(isRetryableStatus(s)).toBe(false);
  });

  it('retries refused connections, resets and socket closes, not unknown hosts', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(
      isRetryableNetworkError(new Error('x', { cause: Object.assign(new Error('y'), { code: 'EPIPE' }) })),
    ).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    const refusedTwice = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], '');
    expect(isRetryableNetworkError(refusedTwice)).toBe(true);
    expect(isRetryableNetworkError(refusedTwice, { refusedConnections: false })).toBe(false);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe(false);
    expect(isRetryableNetworkError('nope')).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(['0'], now)).toBe(0);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
  });

  it('backs off exponentially with jitter between half and the whole step, capped', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(2, policy, () => 0)).toBe(200);
    expect(backoffDelay(2, policy, () => 1)).toBe(400);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(1, policy);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(200);
    }
  });

  it('stops after maxRetries', () => {
    expect(nextRetryDelay(policy, { retries: 2, elapsedMs: 0, random: () => 0 })).toBe(200);
    expect(nextRetryDelay(policy, { retries: 3, elapsedMs: 0 })).toBeNull();
    expect(nextRetryDelay(retryPolicy({ maxRetries: 0 }), { retries: 0, elapsedMs: 0 })).toBeNull();
  });

  it('honours Retry-After exactly, and gives up when it asks for more than maxDelayMs', () => {
    expect(nextRetryDelay(policy, { retries: 0, elapsedMs: 0, retryAfterMs: 700 })).toBe(700);
    expect(nextRetryDelay(policy, { retries: 0, elapsedMs: 0, retryAfterMs: 0 })).toBe(0);
    expect(nextRetryDelay(policy, { retries: 0, elapsedMs: 0, retryAfterMs: 60_000 })).toBeNull();
  });

  it('never goes past maxTotalMs', () => {
    expect(nextRetryDelay(policy, { retries: 0, elapsedMs: 4950, retryAfterMs: 100 })).toBeNull();
    expect(nextRetryDelay(policy, { retries: 0, elapsedMs: 4800, retryAfterMs: 100 })).toBe(100);
  });

  it('fills in defaults and refuses nonsense', () => {
    expect(retryPolicy({})).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicy({ maxRetries: undefined, minDelayMs: 1 }).maxRetries).toBe(3);
    expect(() => retryPolicy({ maxRetries: -1 })).toThrow(/retry.maxRetries/);
    expect(() => retryPolicy({ maxDelayMs: Number.NaN })).toThrow(/CONFIG|retry/);
  });

  it('sleeps for the time asked, and stops sleeping when aborted', async () => {
    vi.useFakeTimers();
    try {
      let woke = false;
      void sleep(20).then(() => {
        woke = true;
      });
      await vi.advanceTimersByTimeAsync(19);
      expect(woke).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(woke).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});
