import { describe, expect, it } from 'vitest';
import { isImgdigestError } from '../core/errors.js';
import { parseReference } from '../core/reference.js';
import { type BaseResolve, CachingResolver } from './resolver.js';

const D1 = `sha256:${'1'.repeat(64)}` as const;
const D2 = `sha256:${'2'.repeat(64)}` as const;

function counting(digestFor: (canonical: string) => `${string}:${string}` = () => D1, delayMs = 20) {
  const calls: string[] = [];
  let active = 0;
  let maxActive = 0;
  const base: BaseResolve = async (reference, opts) => {
    calls.push(`${reference.canonical}|${opts.platform ?? ''}`);
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, delayMs));
    active--;
    return { reference, digest: digestFor(reference.canonical), kind: 'index', mediaType: 'x/y', size: 1 };
  };
  return { base, calls, maxActive: () => maxActive };
}

describe('CachingResolver', () => {
  it('makes one request for many concurrent resolutions of the same tag', async () => {
    const { base, calls } = counting();
    const r = new CachingResolver(base);
    const ref = parseReference('localhost:5000/app:1');
    const answers = await Promise.all(Array.from({ length: 200 }, () => r.resolve(ref)));
    expect(calls).toHaveLength(1);
    expect(new Set(answers.map((a) => a.digest))).toEqual(new Set([D1]));
    expect(r.stats.coalesced).toBe(199);
  });

  it('cached() answers only what is cached, per platform, counting each answer as a hit', async () => {
    const { base, calls } = counting();
    const events: string[] = [];
    const r = new CachingResolver(base, { onResult: (e) => events.push(e) });
    const ref = parseReference('localhost:5000/app:1');
    expect(r.cached(ref)).toBeUndefined();
    await r.resolve(ref);
    expect(r.cached(ref)).toMatchObject({ digest: D1, via: 'cache' });
    expect(r.cached(ref, { platform: 'linux/arm64' })).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(events).toEqual(['miss', 'hit']);
    expect(r.stats.hits).toBe(1);
    expect(new CachingResolver(base, { ttlMs: 0 }).cached(ref)).toBeUndefined();
  });

  it('answers from the cache until the TTL passes, then asks again', async () => {
    const { base, calls } = counting(undefined, 1);
    const r = new CachingResolver(base, { ttlMs: 50 });
    const ref = parseReference('localhost:5000/app:1');
    expect((await r.resolve(ref)).via).toBe('registry');
    expect((await r.resolve(ref)).via).toBe('cache');
    await new Promise((res) => setTimeout(res, 80));
    expect((await r.resolve(ref)).via).toBe('registry');
    expect(calls).toHaveLength(2);
  });

  it('keeps platforms apart in the cache', async () => {
    const { base, calls } = counting((c) => (c.endsWith(':1') ? D1 : D2), 1);
    const r = new CachingResolver(base);
    const ref = parseReference('localhost:5000/app:1');
    await r.resolve(ref);
    await r.resolve(ref, { platform: 'linux/arm64' });
    await r.resolve(ref, { platform: 'linux/arm64' });
    expect(calls).toEqual(['localhost:5000/app:1|', 'localhost:5000/app:1|linux/arm64']);
  });

  it('bounds the resolutions in flight', async () => {
    const { base, calls, maxActive } = counting(undefined, 10);
    const r = new CachingResolver(base, { concurrency: 3 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => r.resolve(parseReference(`localhost:5000/app:${i}`))),
    );
    expect(calls).toHaveLength(20);
    expect(maxActive()).toBe(3);
  });

  it('does not cache failures', async () => {
    let n = 0;
    const r = new CachingResolver(async (reference) => {
      n++;
      if (n === 1) throw new Error('registry down');
      return { reference, digest: D1, kind: 'manifest', mediaType: 'x/y', size: 1 };
    });
    const ref = parseReference('localhost:5000/app:1');
    await expect(r.resolve(ref)).rejects.toThrow('registry down');
    expect((await r.resolve(ref)).digest).toBe(D1);
    expect(r.stats.errors).toBe(1);
  });

  it('stops a caller waiting when its signal aborts, without failing the other callers', async () => {
    const { base } = counting(undefined, 100);
    const r = new CachingResolver(base);
    const ref = parseReference('localhost:5000/app:1');
    const patient = r.resolve(ref);
    const hurried = r.resolve(ref, { signal: AbortSignal.timeout(10) });
    const e = await hurried.catch((x: unknown) => x);
    expect(isImgdigestError(e) && e.code).toBe('TIMEOUT');
    expect((await patient).digest).toBe(D1);
  });
});
