/**
 * @module registry/source
 * One registry repository as an `ImageSource`, so the CLI verbs (`digest`, `manifest`, `blob`,
 * `tags`, ...) work on a registry exactly as on a local layout or archive.
 */
import type { Digest } from '../../core/digest.js';
import type { Descriptor, ParsedManifest } from '../../core/manifest.js';
import type { Reference } from '../../core/reference.js';
import type { BlobReader, CallOptions, ImageSource } from '../source.js';
import type { ListLimits, ListOptions } from './listing.js';
import { atIdentifier, type GetManifestOptions, type ResolvedDescriptor } from './manifests.js';
import type { ReferrersOptions } from './referrers.js';

/**
 * The registry reads a {@link RegistrySource} makes: what `RegistryClient` offers, named here so
 * this module needs only the shape and not the client.
 */
export interface RepositoryReader {
  resolve(ref: Reference, options?: CallOptions): Promise<ResolvedDescriptor>;
  getManifest(ref: Reference, options?: GetManifestOptions): Promise<ParsedManifest>;
  getBlob(
    repo: Reference,
    descriptor: { digest: Digest; size?: number | null },
    options?: CallOptions,
  ): Promise<BlobReader>;
  tags(repo: Reference, options?: ListOptions): Promise<string[]>;
  tagDigests(repo: Reference, options?: CallOptions & ListLimits): Promise<Map<string, Digest> | null>;
  referrers(repo: Reference, digest: Digest, options?: ReferrersOptions): Promise<Descriptor[]>;
  getBlobRange(
    repo: Reference,
    digest: Digest,
    range: { start: number; end?: number },
    options?: CallOptions,
  ): Promise<{ bytes: Uint8Array; total: number | null } | null>;
  close(): Promise<void>;
}

export interface RegistrySourceOptions {
  /** `close()` closes the client too (for a client made for this one source). */
  closeClient?: boolean;
}

/** An `ImageSource` over one repository of a registry (made by `RegistryClient.openSource`). */
export class RegistrySource implements ImageSource {
  readonly kind = 'registry' as const;
  readonly name: string;
  readonly identifier: string;
  readonly reference: Reference;
  readonly #client: RepositoryReader;
  readonly #ref: Reference;
  readonly #closeClient: boolean;

  constructor(client: RepositoryReader, ref: Reference, options: RegistrySourceOptions = {}) {
    this.#client = client;
    this.#ref = ref;
    this.#closeClient = options.closeClient === true;
    this.name = ref.repository;
    this.identifier = ref.identifier;
    this.reference = ref;
  }

  #at(identifier?: string): Reference {
    return identifier === undefined ? this.#ref : atIdentifier(this.#ref, identifier);
  }

  /** One HEAD when the registry sends the digest header, a GET otherwise. */
  async head(identifier?: string, options: CallOptions = {}): Promise<Descriptor> {
    return (await this.#client.resolve(this.#at(identifier), options)).descriptor;
  }

  manifest(identifier?: string, options: CallOptions = {}): Promise<ParsedManifest> {
    return this.#client.getManifest(this.#at(identifier), options);
  }

  blob(descriptor: { digest: Digest; size?: number }, options: CallOptions = {}): Promise<BlobReader> {
    return this.#client.getBlob(this.#ref, descriptor, options);
  }

  /** Every tag, sorted (the `ImageSource` contract; `RegistryClient.tags` keeps the registry's order). */
  async tags(options: CallOptions & ListLimits = {}): Promise<string[]> {
    return (await this.#client.tags(this.#ref, options)).sort();
  }

  /** Tag -> digest in one listing where the registry offers it (see `tagsForDigest`). */
  tagDigests(options: CallOptions & ListLimits = {}): Promise<Map<string, Digest> | null> {
    return this.#client.tagDigests(this.#ref, options);
  }

  /** Bytes of a blob by HTTP Range, or null when the registry ignores ranges (see `RegistryClient.getBlobRange`). */
  blobRange(
    digest: Digest,
    range: { start: number; end?: number },
    options: CallOptions = {},
  ): Promise<{ bytes: Uint8Array; total: number | null } | null> {
    return this.#client.getBlobRange(this.#ref, digest, range, options);
  }

  /** The registry client this source reads through. */
  get client(): RepositoryReader {
    return this.#client;
  }

  referrers(digest: Digest, options: CallOptions & { artifactType?: string } = {}): Promise<Descriptor[]> {
    return this.#client.referrers(this.#ref, digest, options);
  }

  /** Closes the client when the source was opened with `closeClient: true`; otherwise does nothing. */
  async close(): Promise<void> {
    if (this.#closeClient) await this.#client.close();
  }
}
