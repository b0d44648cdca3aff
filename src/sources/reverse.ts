/**
 * @module sources/reverse
 * Which tags point at a digest. Registries have no API for it, so this lists the tags and asks
 * for each one's digest (HEAD requests, bounded concurrency). Registries that return a digest map
 * with the tag list (Google's `manifest` field) answer it from that list instead.
 */
import type { Digest } from '../core/digest.js';
import { isImgdigestError } from '../core/errors.js';
import type { CallOptions, ImageSource } from './source.js';

/** A source that can list tags with their digests in one request (GCR / Artifact Registry). */
export interface TagDigestLister {
  tagDigests(options?: CallOptions & { maxItems?: number }): Promise<Map<string, Digest> | null>;
}

function hasTagDigests(source: ImageSource): source is ImageSource & TagDigestLister {
  return typeof (source as Partial<TagDigestLister>).tagDigests === 'function';
}

export interface ReverseOptions extends CallOptions {
  concurrency?: number;
  /** The most tags listed (see `ImageSource.tags`). */
  maxItems?: number;
}

/** Tags of `source` whose manifest digest is `digest`, sorted. Tags that vanish meanwhile are skipped. */
export async function tagsForDigest(
  source: ImageSource,
  digest: Digest,
  options: ReverseOptions = {},
): Promise<string[]> {
  if (hasTagDigests(source)) {
    const map = await source.tagDigests(options);
    if (map)
      return [...map]
        .filter(([, d]) => d === digest)
        .map(([t]) => t)
        .sort();
  }
  const tags = await source.tags(options);
  const found: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      try {
        const d = await source.head(tag, options);
        if (d.digest === digest) found.push(tag);
      } catch (e) {
        // A tag deleted between the listing and the HEAD is not an error for this question.
        if (!(isImgdigestError(e) && e.code === 'NOT_FOUND')) throw e;
      }
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 8, tags.length));
  await Promise.all(Array.from({ length: n }, worker));
  return found.sort();
}
