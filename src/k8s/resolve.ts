/**
 * @module k8s/resolve
 * Resolving what a walk found, for pin and outdated: each unique reference once, every answer or
 * failure kept by key.
 *
 * The bound on resolutions in flight is the resolver's, not ours: `openResolver` always returns a
 * resolver limited per registry, shared by everything that uses it (the webhook's admissions, a
 * whole `pin` run). A `Resolver` of your own that bounds nothing gets every reference at once; put
 * it behind a `CachingResolver` to bound it.
 */
import { type ErrorCode, isImgdigestError } from '../core/errors.js';
import type { Reference } from '../core/reference.js';
import type { Resolution, ResolveOptions, Resolver } from '../resolver/types.js';

export interface ResolveEachOptions {
  resolver: Resolver;
  /** @deprecated Ignored: the resolver bounds concurrency (`openResolver`'s `concurrency`). */
  concurrency?: number;
  /** Resolve each reference to this platform's manifest (`os/arch[/variant]`). */
  platform?: string;
  signal?: AbortSignal;
  /** Called as resolutions settle: progress for a TTY. */
  onProgress?: (done: number, total: number) => void;
}

/** Resolve every reference once; the outcome of each, by the same key. */
export async function resolveEach(
  references: ReadonlyMap<string, Reference>,
  options: ResolveEachOptions,
): Promise<Map<string, PromiseSettledResult<Resolution>>> {
  const resolveOptions: ResolveOptions = {};
  if (options.platform) resolveOptions.platform = options.platform;
  if (options.signal) resolveOptions.signal = options.signal;
  const keys = [...references.keys()];
  let done = 0;
  const settled = await Promise.allSettled(
    keys.map(async (key) => {
      try {
        return await options.resolver.resolve(references.get(key)!, resolveOptions);
      } finally {
        options.onProgress?.(++done, keys.length);
      }
    }),
  );
  return new Map(keys.map((key, i) => [key, settled[i]!]));
}

/** The first line of an error's message: the reason a report gives. */
export function reasonOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** An error's code, `UNKNOWN` for errors that are not ours. */
export function codeOf(e: unknown): ErrorCode | 'UNKNOWN' {
  return isImgdigestError(e) ? e.code : 'UNKNOWN';
}
