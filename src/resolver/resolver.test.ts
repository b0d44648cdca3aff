import { describe, expect, it } from 'vitest';
import { isImgdigestError } from '../core/errors.js';
import { parseReference } from '../core/reference.js';
import { type BaseResolve, CachingResolver, estimateCacheEntryBytes } from './resolver.js';

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

  it('keeps the cache under its byte bound, evicting the least recently used, which are asked again', async () => {
    const { base, calls } = counting(undefined, 1);
    const refs = Array.from({ length: 40 }, (_, i) =>
      parseReference(`localhost:5000/team/app-${i}:1.0.${i}`),
    );
    const probe = new CachingResolver(base);
    const one = estimateCacheEntryBytes(`${refs[0]!.canonical}|`, await probe.resolve(refs[0]!));
    expect(one).toBeGreaterThan(300);
    // Room for about ten answers, while the entry bound alone would keep all forty.
    const maxBytes = one * 10 + one / 2;
    const r = new CachingResolver(base, { maxBytes, maxEntries: 1000 });
    calls.length = 0;
    for (const ref of refs) {
      await r.resolve(ref);
      expect(r.cacheUsage().bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(calls).toHaveLength(40);
    const { entries, bytes } = r.cacheUsage();
    expect(entries).toBeGreaterThanOrEqual(9);
    expect(entries).toBeLessThanOrEqual(10);
    expect(bytes).toBeGreaterThan(maxBytes - 2 * one);
    // The newest answers are still cached; the first ones were evicted and are asked again.
    expect(r.cached(refs[39]!)).toMatchObject({ digest: D1, via: 'cache' });
    expect(r.cached(refs[0]!)).toBeUndefined();
    expect((await r.resolve(refs[0]!)).via).toBe('registry');
    expect(calls).toHaveLength(41);
    expect(calls.at(-1)).toBe(`${refs[0]!.canonical}|`);
    expect(r.cacheUsage().bytes).toBeLessThanOrEqual(maxBytes);
    // Without a byte bound only the entry bound applies.
    const unbounded = new CachingResolver(base, { maxEntries: 1000 });
    for (const ref of refs) await unbounded.resolve(ref);
    expect(unbounded.cacheUsage().entries).toBe(40);
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
