/**
 * @module resolver/types
 * The contract between "reference -> digest" and everything that needs it (pin, outdated, krm,
 * the webhook). Kubernetes code is handed a `Resolver`; it has no network of its own.
 */
import type { Reference } from '../core/reference.js';
import type { Resolution } from '../core/resolution.js';

export type { DigestKind, Resolution, ResolutionVia } from '../core/resolution.js';

export interface ResolveOptions {
  /** Resolve the best-matching child of an index for this platform (`os/arch[/variant]`). */
  platform?: string;
  /** Stop waiting when this aborts (a resolution shared with other callers goes on for them). */
  signal?: AbortSignal;
}

export interface Resolver {
  /**
   * Resolve a tag (or verify a digest) to a digest. The answer always carries `reference`,
   * `resolvedAt` and `via`. Throws `ImgdigestError` on failure.
   */
  resolve(reference: Reference, options?: ResolveOptions): Promise<Resolution>;
  /**
   * The answer `resolve` would give at once from a cache (counted as a cache hit), or undefined
   * when it has to ask. Optional: callers fall back to `resolve`.
   */
  cached?(reference: Reference, options?: Pick<ResolveOptions, 'platform'>): Resolution | undefined;
}
