/**
 * @module sources/source
 * The one interface every place images come from implements: a registry repository, an OCI image
 * layout, a `docker save` archive, a Docker-compatible engine. The CLI verbs (`digest`, `manifest`,
 * `index`, `config`, `blob`, `files`, `inspect`) are written once against it.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../core/digest.js';
import type { Descriptor, ParsedManifest } from '../core/manifest.js';
import type { Reference } from '../core/reference.js';

export type SourceKind = 'registry' | 'oci-layout' | 'docker-archive' | 'docker-daemon';

export interface CallOptions {
  signal?: AbortSignal;
}

/** A blob being read. The stream fails with `DIGEST_MISMATCH`/`SIZE_MISMATCH` before it ends if the bytes are wrong. */
export interface BlobReader {
  readonly digest: Digest;
  /** The size announced by the source (Content-Length, descriptor), or null if unknown. */
  readonly size: number | null;
  readonly stream: Readable;
}

/** Extra facts a local source knows and a registry does not (image ID, RepoDigests, ...). */
export interface SourceFacts {
  /** The config digest (what Docker calls the image ID). */
  imageId?: Digest;
  /** Registry digests recorded for this image (`repo@sha256:...`). */
  repoDigests?: string[];
  repoTags?: string[];
  /** Notes a user should read about what this source can and cannot tell (shown by the CLI). */
  notes?: string[];
}

export interface ImageSource {
  readonly kind: SourceKind;
  /** A name for people: `docker.io/library/nginx`, `oci:/tmp/layout`, `docker-archive:img.tar`. */
  readonly name: string;
  /** The tag or digest this source was opened with (`latest` when none was given). */
  readonly identifier: string;
  /** The registry reference this source was opened with (registry sources only). */
  readonly reference?: Reference;

  /**
   * The descriptor of what `identifier` (default: the source's own) names, as cheaply as the source
   * can: a registry sends one HEAD when it can.
   */
  head(identifier?: string, options?: CallOptions): Promise<Descriptor>;

  /** The manifest or index `identifier` names, with its exact bytes; by-digest reads are verified. */
  manifest(identifier?: string, options?: CallOptions): Promise<ParsedManifest>;

  /** A blob by digest, streamed and verified while it flows. */
  blob(descriptor: { digest: Digest; size?: number }, options?: CallOptions): Promise<BlobReader>;

  /**
   * Tags known to this source, sorted. A registry refuses a tag list longer than `maxItems`
   * (default 1,000,000) rather than return it cut.
   */
  tags(options?: CallOptions & { maxItems?: number }): Promise<string[]>;

  /** Manifests whose `subject` is `digest` (OCI referrers), where the source supports it. */
  referrers?(digest: Digest, options?: CallOptions & { artifactType?: string }): Promise<Descriptor[]>;

  /** Facts beyond manifests (image ID, RepoDigests), for local sources. */
  facts?(options?: CallOptions): Promise<SourceFacts>;

  close?(): Promise<void>;
}
