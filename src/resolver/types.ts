/**
 * @module resolver/types
 * The contract between "reference -> digest" and everything that needs it (pin, outdated, the
 * webhook, the quick start). Kubernetes code is handed a `Resolver`; it has no network of its own.
 */
import type { Digest } from '../core/digest.js';
import type { Reference } from '../core/reference.js';

/** Which digest a resolution produced. */
export type DigestKind = 'index' | 'manifest';

export interface Resolution {
  /** The reference as asked (normalised). */
  reference: Reference;
  digest: Digest;
  kind: DigestKind;
  mediaType: string;
  size: number;
  /** The platform asked for (`linux/arm64`), when the child of an index was chosen. */
  platform?: string;
  /** When the answer was obtained (ISO 8601). */
  resolvedAt: string;
  /** Where the answer came from: `registry`, `cache`, `lock`. */
  via: 'registry' | 'cache' | 'lock';
}

export interface ResolveOptions {
  /** Resolve the best-matching child of an index for this platform (`os/arch[/variant]`). */
  platform?: string;
  signal?: AbortSignal;
}

export interface Resolver {
  /** Resolve a tag (or verify a digest) to a digest. Throws `ImgdigestError` on failure. */
  resolve(reference: Reference, options?: ResolveOptions): Promise<Resolution>;
}
