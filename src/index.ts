/**
 * @module imgdigest
 * The library's root export: the core model. Sources, the resolver, Kubernetes helpers and the
 * servers have their own sub-path exports (`imgdigest/registry`, `imgdigest/k8s`, ...).
 */
export * from './core/digest.js';
export * from './core/errors.js';
export * from './core/manifest.js';
export * from './core/media-types.js';
export * from './core/platform.js';
export * from './core/reference.js';
export * from './core/resolution.js';
