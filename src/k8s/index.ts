/**
 * @module k8s
 * Kubernetes manifests: where images sit in objects, the digest rule, byte-exact pinning, lock
 * files, KRM functions and policy export. No network of its own: pinning is handed a `Resolver`.
 */
export * from './check.js';
export { unifiedDiff } from './diff.js';
export * from './export.js';
export type { InputFile, InputProblem } from './inputs.js';
export * from './krm.js';
export * from './locations.js';
export * from './lock.js';
export * from './objects.js';
export * from './outdated.js';
export * from './pin.js';
export * from './policy.js';
export * from './relocate.js';
export * from './rules.js';
export * from './sites.js';
