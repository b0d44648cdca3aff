/**
 * @module core/resolution
 * The answer to "which digest does this reference name now", in every layer: the registry
 * client's `resolve`, `resolveDigest` over any source, the resolver (cache, coalescing, lock
 * files) and what `pin`, `outdated` and the webhook are handed. Lock files are its serialised form.
 */
import type { Digest } from './digest.js';
import type { Descriptor, ParsedManifest } from './manifest.js';
import { isImageManifestMediaType, isIndexMediaType, MediaType } from './media-types.js';
import type { Reference } from './reference.js';

/**
 * What the digest names: `index` for a multi-platform index or list, `manifest` for one image,
 * `config` when a source only knows the image ID (a `docker save` archive), `unknown` when it knows
 * the digest but not what it names (a Docker engine's RepoDigests). A registry only ever answers
 * `index` or `manifest`.
 */
export type DigestKind = 'index' | 'manifest' | 'config' | 'unknown';

/**
 * How the answer was obtained. The registry client says which request gave it: `head` (the digest
 * header of a HEAD) or `get` (the hash of the bytes a GET returned). The resolver says `registry`
 * for an answer asked for now, `cache` for an earlier one, `lock` for one from a lock file or build
 * output. `source` is a local layout, archive or engine.
 */
export type ResolutionVia = 'registry' | 'head' | 'get' | 'cache' | 'lock' | 'source';

/**
 * The digest a reference names, with what it is and where the answer came from. `R` is
 * `Reference | null` only where a local source (a layout, an archive) was asked, which has no
 * registry reference.
 */
export interface Resolution<R extends Reference | null = Reference> {
  /** The reference as asked (normalised). */
  reference: R;
  digest: Digest;
  kind: DigestKind;
  mediaType: string;
  size: number;
  /** The platform of the chosen child when a platform was asked for, else of the image when known. */
  platform?: string;
  /** The index the child was chosen from, when a platform was asked for on an index. */
  index?: Digest;
  /** When the answer was obtained (ISO 8601). */
  resolvedAt: string;
  via: ResolutionVia;
  /** The descriptor as the source gave it (annotations included), when it gave one. */
  descriptor?: Descriptor;
  /** The manifest, when finding the digest meant reading it (a GET): no need to fetch it again. */
  manifest?: ParsedManifest;
}

/** The kind of digest a media type names (an empty media type: `unknown`). */
export function digestKindOf(mediaType: string): DigestKind {
  if (isIndexMediaType(mediaType)) return 'index';
  if (isImageManifestMediaType(mediaType)) return 'manifest';
  if (mediaType === MediaType.DOCKER_CONFIG || mediaType === MediaType.OCI_CONFIG) return 'config';
  return mediaType === '' ? 'unknown' : 'manifest';
}
