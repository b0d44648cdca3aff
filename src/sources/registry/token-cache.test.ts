import { describe, expect, it } from 'vitest';
import { TokenCache, tokenCacheKey } from './token-cache.js';

describe('TokenCache', () => {
  it('keys by registry, service and the set of scopes (order and repeats do not matter)', () => {
    expect(tokenCacheKey('r', 's', ['b', 'a', 'a'])).toBe(tokenCacheKey('r', 's', ['a', 'b']));
    expect(tokenCacheKey('r', 's', ['a'])).not.toBe(tokenCacheKey('r2', 's', ['a']));
    expect(tokenCacheKey('r', 's', ['a'])).not.toBe(tokenCacheKey('r', 's', ['a', 'b']));
  });

  it('serves a token until shortly before it expires', () => {
    let now = 1_000_000;
    const cache = new TokenCache({ now: () => now, marginMs: 5_000 });
    cache.set('k', { token: 't', expiresAt: now + 60_000 });
    expect(cache.get('k')?.token).toBe('t');
    now += 54_000;
    expect(cache.get('k')?.token).toBe('t');
    now += 2_000;
    expect(cache.get('k')).toBeUndefined();
  });

  it('fetches once for many concurrent callers and caches the result', async () => {
    const cache = new TokenCache();
    let fetches = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fetch = async () => {
      fetches++;
      await gate;
      return { token: 'tok', expiresAt: Date.now() + 60_000 };
    };
    const all = Array.from({ length: 100 }, () => cache.getOrFetch('k', fetch));
    release();
    const results = await Promise.all(all);
    expect(fetches).toBe(1);
    expect(results.every((r) => r.token.token === 'tok' && !r.cached)).toBe(true);
    expect((await cache.getOrFetch('k', fetch)).cached).toBe(true);
    expect(fetches).toBe(1);
  });

  it('does not cache a failed fetch', async () => {
    const cache = new TokenCache();
    await expect(cache.getOrFetch('k', async () => Promise.reject(new Error('down')))).rejects.toThrow(
      'down',
    );
    const again = await cache.getOrFetch('k', async () => ({ token: 'ok', expiresAt: Date.now() + 60_000 }));
    expect(again).toEqual({ token: { token: 'ok', expiresAt: expect.any(Number) }, cached: false });
  });

  it('forgets a refused token and drops the oldest beyond its size', () => {
    const cache = new TokenCache({ maxEntries: 2 });
    const t = { token: 't', expiresAt: Date.now() + 60_000 };
    cache.set('a', t);
    cache.set('b', t);
    cache.set('c', t);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    cache.delete('b');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
  });
});
