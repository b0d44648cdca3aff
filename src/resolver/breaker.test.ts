import { describe, expect, it } from 'vitest';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import { parseReference } from '../core/reference.js';
import { CircuitBreaker, type CircuitChange } from './breaker.js';
import { type BaseResolve, CachingResolver } from './resolver.js';

const D1 = `sha256:${'1'.repeat(64)}` as const;
const timeout = () =>
  new ImgdigestError('TIMEOUT', 'timeout: GET http://r/v2/: no response headers', { retryable: true });

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of failures in a row, refuses during the cool-down, then lets one probe through', () => {
    const time = clock();
    const changes: CircuitChange[] = [];
    const b = new CircuitBreaker({
      failureThreshold: 3,
      coolDownMs: 10_000,
      now: time.now,
      onStateChange: (c) => changes.push(c),
    });
    for (let i = 0; i < 2; i++) b.failed('r', timeout());
    expect(b.state('r')).toBe('closed');
    expect(b.admit('r')).toBeUndefined();
    b.failed('r', timeout());
    expect(b.state('r')).toBe('open');
    expect(b.admit('r')).toMatchObject({ key: 'r', failures: 3, retryAt: time.now() + 10_000 });
    time.advance(9_999);
    expect(b.refusal('r')).toBeDefined();
    time.advance(1);
    expect(b.refusal('r')).toBeUndefined(); // looking claims nothing
    expect(b.admit('r')).toBeUndefined(); // the probe
    expect(b.state('r')).toBe('half-open');
    expect(b.admit('r')).toMatchObject({ retryAt: undefined }); // one probe at a time
    b.succeeded('r');
    expect(b.state('r')).toBe('closed');
    expect(b.admit('r')).toBeUndefined();
    expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual([
      'closed>open',
      'open>half-open',
      'half-open>closed',
    ]);
    expect(changes[0]).toMatchObject({ key: 'r', failures: 3 });
    expect(isImgdigestError(changes[0]!.lastError)).toBe(true);
  });

  it('re-opens for a new cool-down when the probe fails, and replaces a probe that never reports', () => {
    const time = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 1_000, now: time.now });
    b.failed('r', timeout());
    time.advance(1_000);
    expect(b.admit('r')).toBeUndefined();
    b.failed('r', timeout());
    expect(b.state('r')).toBe('open');
    expect(b.refusal('r')?.retryAt).toBe(time.now() + 1_000);
    time.advance(1_000);
    expect(b.admit('r')).toBeUndefined(); // a probe that is never heard of again
    time.advance(999);
    expect(b.admit('r')).toBeDefined();
    time.advance(1);
    expect(b.admit('r')).toBeUndefined();
  });

  it('an answer resets the count: only failures in a row open it', () => {
    const b = new CircuitBreaker({ failureThreshold: 2 });
    for (let i = 0; i < 10; i++) {
      b.failed('r', timeout());
      b.succeeded('r');
    }
    expect(b.state('r')).toBe('closed');
  });

  it('keeps registries apart, and forgets the oldest beyond maxTracked (reported closed)', () => {
    const changes: CircuitChange[] = [];
    const b = new CircuitBreaker({
      failureThreshold: 1,
      maxTracked: 2,
      onStateChange: (c) => changes.push(c),
    });
    b.failed('a', timeout());
    expect(b.state('b')).toBe('closed');
    b.failed('b', timeout());
    b.failed('c', timeout());
    expect([b.state('a'), b.state('b'), b.state('c')]).toEqual(['closed', 'open', 'open']);
    expect(changes.at(-2)).toMatchObject({ key: 'a', from: 'open', to: 'closed', forgotten: true });
  });
});

describe('CachingResolver with a breaker', () => {
  /** A base whose registries answer as `answer` says, counting the calls per registry. */
  function base(answer: (host: string) => 'ok' | 'timeout' | 'not-found') {
    const calls = new Map<string, number>();
    const resolve: BaseResolve = async (reference) => {
      const host = reference.registryHost;
      calls.set(host, (calls.get(host) ?? 0) + 1);
      const a = answer(host);
      if (a === 'timeout') throw timeout();
      if (a === 'not-found') throw new ImgdigestError('NOT_FOUND', 'manifest unknown');
      return { reference, digest: D1, kind: 'index', mediaType: 'x/y', size: 1 };
    };
    return { resolve, calls: (host: string) => calls.get(host) ?? 0 };
  }

  it('refuses at once, with the code of the failure and when it asks again, without asking the registry', async () => {
    const time = clock();
    let down = true;
    const b = base((host) => (host === 'down.test' && down ? 'timeout' : 'ok'));
    const r = new CachingResolver(b.resolve, {
      ttlMs: 0,
      breaker: { failureThreshold: 3, coolDownMs: 30_000, now: time.now },
    });
    const ref = (host: string, tag: string) => parseReference(`${host}/app:${tag}`);
    for (let i = 0; i < 3; i++)
      await expect(r.resolve(ref('down.test', `t${i}`))).rejects.toMatchObject({ code: 'TIMEOUT' });
    const refused = await r.resolve(ref('down.test', 'next')).catch((e: unknown) => e);
    expect(isImgdigestError(refused) && refused.code).toBe('TIMEOUT');
    expect((refused as Error).message).toBe(
      'circuit open: down.test failed 3 times in a row (last: timeout: GET http://r/v2/: no response headers); not asked again for 30 s',
    );
    expect(b.calls('down.test')).toBe(3);
    expect(r.stats).toMatchObject({ errors: 3, rejected: 1, misses: 3 });
    // Another registry is not affected.
    expect((await r.resolve(ref('up.test', '1'))).digest).toBe(D1);
    // After the cool-down, one probe goes; its answer closes the circuit.
    down = false;
    time.advance(30_000);
    expect((await r.resolve(ref('down.test', 'next'))).digest).toBe(D1);
    expect((await r.resolve(ref('down.test', 'again'))).digest).toBe(D1);
    expect(b.calls('down.test')).toBe(5);
  });

  it('counts an answer such as 404 as the registry being up', async () => {
    const b = base(() => 'not-found');
    const r = new CachingResolver(b.resolve, { breaker: { failureThreshold: 2 } });
    for (let i = 0; i < 5; i++) {
      await expect(r.resolve(parseReference(`up.test/app:${i}`))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    }
    expect(b.calls('up.test')).toBe(5);
    expect(r.stats.rejected).toBe(0);
  });

  it('refuses work that was queued before the circuit opened, when its turn comes', async () => {
    const b = base(() => 'timeout');
    const r = new CachingResolver(b.resolve, { concurrency: 1, breaker: { failureThreshold: 1 } });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => r.resolve(parseReference(`down.test/app:${i}`))),
    );
    expect(results.every((x) => x.status === 'rejected')).toBe(true);
    expect(b.calls('down.test')).toBe(1);
    expect(r.stats).toMatchObject({ errors: 1, rejected: 4 });
  });
});
