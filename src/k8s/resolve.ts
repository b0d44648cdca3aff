/**
 * @module k8s/resolve
 * Resolving what a walk found, for pin and outdated: each unique reference once, at most
 * `concurrency` at a time, every answer or failure kept by key.
 *
 * The bound lives here, once, because the `Resolver` a caller hands to `pinFiles` or
 * `findOutdated` may bound nothing itself (one written by a library user; a lock resolver needs
 * none). The registry resolver of src/resolver has its own limiter, shared by everything that uses
 * that resolver in the process (the webhook's admissions); the CLI gives both the same
 * `--concurrency`.
 */
import pLimit from 'p-limit';
import { type ErrorCode, isImgdigestError } from '../core/errors.js';
import type { Reference } from '../core/reference.js';
import type { Resolution, ResolveOptions, Resolver } from '../resolver/types.js';

export interface ResolveEachOptions {
  resolver: Resolver;
  /** Resolutions in flight at once (default 8). */
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
  const limit = pLimit(options.concurrency ?? 8);
  const resolveOptions: ResolveOptions = {};
  if (options.platform) resolveOptions.platform = options.platform;
  if (options.signal) resolveOptions.signal = options.signal;
  const keys = [...references.keys()];
  let done = 0;
  const settled = await Promise.allSettled(
    keys.map((key) =>
      limit(async () => {
        try {
          return await options.resolver.resolve(references.get(key)!, resolveOptions);
        } finally {
          options.onProgress?.(++done, keys.length);
        }
      }),
    ),
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
