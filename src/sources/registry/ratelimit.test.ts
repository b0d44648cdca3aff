import { describe, expect, it } from 'vitest';
import { parseRateLimit, parseRateLimitValue } from './ratelimit.js';

describe('Docker Hub rate-limit headers', () => {
  it('reads limit, remaining, window and source', () => {
    expect(
      parseRateLimit({
        'ratelimit-limit': '100;w=21600',
        'ratelimit-remaining': '76;w=21600',
        'docker-ratelimit-source': '192.0.2.1',
      }),
    ).toEqual({ limit: 100, remaining: 76, windowSeconds: 21600, source: '192.0.2.1' });
  });

  it('tolerates empty values (docker/hub-feedback#2081)', () => {
    expect(parseRateLimit({ 'ratelimit-limit': ';w=21600', 'ratelimit-remaining': ';w=21600' })).toEqual({
      limit: null,
      remaining: null,
      windowSeconds: 21600,
    });
    expect(parseRateLimit({ 'ratelimit-limit': '', 'ratelimit-remaining': '5' })).toEqual({
      limit: null,
      remaining: 5,
    });
  });

  it('says nothing when the registry announces no limit', () => {
    expect(parseRateLimit({ 'content-type': 'application/json' })).toBeNull();
  });

  it('takes the first of several policies and a reset', () => {
    expect(parseRateLimitValue('10, 10;w=1, 1000;w=3600')).toEqual({ value: 10 });
    expect(parseRateLimit({ 'ratelimit-limit': '100;w=60', 'ratelimit-reset': '30' })).toEqual({
      limit: 100,
      remaining: null,
      windowSeconds: 60,
      reset: 30,
    });
  });
});
