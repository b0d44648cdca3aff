/**
 * @module resolver
 * "Reference -> digest", once for the whole library: `openResolver` (a registry, lock files or a
 * base of your own behind one cache, coalescing, a per-registry bound and, when asked, a circuit
 * breaker per registry), the `Resolver` contract
 * `pinFiles`, `findOutdated`, `krmPin` and the webhook are handed, and lock files.
 */
export * from './breaker.js';
export * from './lock.js';
export * from './open.js';
export * from './resolver.js';
export type * from './types.js';
