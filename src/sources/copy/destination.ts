/**
 * @module sources/copy/destination
 * Where a copy writes: a registry repository (through the one `RegistryClient`) or an OCI image
 * layout (`oci:DIR[:TAG]`). Both answer the same few questions, so the copy engine is written
 * once: is this blob or manifest there already, what does this tag name, write this blob, write
 * this manifest (under a tag or by digest), and, for a registry without the referrers API, keep
 * the referrers tag of a subject up to date.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import type { Descriptor } from '../../core/manifest.js';
import { MediaType } from '../../core/media-types.js';
import type { Reference } from '../../core/reference.js';
import { OciLayoutWriter } from '../local/oci-layout-writer.js';
import { parseSourceSpec } from '../open.js';
import type { RegistryClient } from '../registry/client.js';
import { referrersTag } from '../registry/referrers.js';
import type { UploadAction, UploadStateStore } from '../registry/upload.js';

export type DestinationSpec =
  | { transport: 'registry'; reference: Reference }
  | { transport: 'oci'; path: string; tag: string | undefined };

/** Parse a destination (`oci:DIR[:TAG]` or a registry reference); archives and engines are not written. */
export function parseDestination(input: string): DestinationSpec {
  const spec = parseSourceSpec(input);
  if (spec.transport === 'registry' || spec.transport === 'oci') return spec;
  throw new ImgdigestError(
    'USAGE',
    `"${input}": cannot write ${spec.transport}: destinations; write to a registry or an OCI layout (oci:DIR[:TAG])`,
  );
}

export type CopyDestinationSpec =
  | DestinationSpec
  | { transport: 'docker-archive'; path: string; ref: string | undefined };

/**
 * Parse the destination of one copy: a registry reference, `oci:DIR[:TAG]`, or a docker archive
 * (`docker-archive:FILE[:REF]`, see `archiveDestination`). Engines are not written.
 */
export function parseCopyDestination(input: string): CopyDestinationSpec {
  const spec = parseSourceSpec(input);
  if (spec.transport === 'registry' || spec.transport === 'oci' || spec.transport === 'docker-archive')
    return spec;
  throw new ImgdigestError(
    'USAGE',
    `"${input}": cannot write ${spec.transport}: destinations; write to a registry, an OCI layout (oci:DIR[:TAG]) or a docker archive (docker-archive:FILE[:REF])`,
  );
}

/** A manifest to write, with its exact bytes. */
export interface ManifestToWrite {
  digest: Digest;
  mediaType: string;
  raw: Uint8Array;
  artifactType?: string | undefined;
  annotations?: Record<string, string> | undefined;
}

export interface PutBlobOptions {
  /** A repository of the same registry that holds the blob. */
  mountFrom?: string | undefined;
  onProgress?: (done: number) => void;
  signal?: AbortSignal | undefined;
}

export interface ImageDestination {
  readonly kind: 'registry' | 'oci-layout' | 'docker-archive';
  /** `localhost:5000/mirror/app`, `oci:layout`, `docker-archive:app.tar`. */
  readonly name: string;
  /** The tag the destination was named with, if any. */
  readonly tag: string | undefined;
  /** The digest the destination was named with (`repo@sha256:…`): the copy must produce it. */
  readonly digest: Digest | undefined;
  /** The registry reference of the repository (registry destinations). */
  readonly reference?: Reference;
  /** How a copied image is printed: `NAME:TAG@DIGEST`, or `NAME@DIGEST` without a tag. */
  format(tag: string | undefined, digest: Digest): string;
  hasBlob(descriptor: Descriptor, signal?: AbortSignal): Promise<boolean>;
  hasManifest(digest: Digest, signal?: AbortSignal): Promise<boolean>;
  /** The digest `tag` names here, or null when the tag does not exist. */
  tagDigest(tag: string, signal?: AbortSignal): Promise<Digest | null>;
  /** Write a blob read from `open()` (a verified stream); says whether it was sent or mounted. */
  putBlob(
    descriptor: Descriptor,
    open: () => Promise<Readable>,
    options?: PutBlobOptions,
  ): Promise<Exclude<UploadAction, 'exists'>>;
  /**
   * Write a manifest under `tag` (or by digest). `listed`: a layout lists it in `index.json` (the
   * image copied and its referrers; an index's children are not listed). The answer says whether a
   * registry took note of the manifest's `subject` itself.
   */
  putManifest(
    manifest: ManifestToWrite,
    options: { tag?: string | undefined; listed: boolean; signal?: AbortSignal | undefined },
  ): Promise<{ subjectIndexed: boolean }>;
  /**
   * Make sure `referrer` is found as a referrer of `subject` (registries without the referrers
   * API: the `<alg>-<hex>` tag schema); true when something had to be written.
   */
  ensureReferrer(subject: Digest, referrer: Descriptor, signal?: AbortSignal): Promise<boolean>;
  /** Finish (a layout writes its `index.json`). */
  commit(): Promise<void>;
}

export interface RegistryDestinationOptions {
  /** Blobs larger than this are uploaded in chunks, which resume (see `RegistryClient.uploadBlob`). */
  chunkedAbove?: number;
  /** Bytes per chunk. */
  chunkSize?: number;
  /** Where chunked uploads keep their place, so an interrupted copy resumes. */
  state?: UploadStateStore;
}

function isNotFound(error: unknown): boolean {
  return isImgdigestError(error) && error.code === 'NOT_FOUND';
}

/** A registry repository as a destination, written through `client`. */
export function registryDestination(
  client: RegistryClient,
  ref: Reference,
  options: RegistryDestinationOptions = {},
): ImageDestination {
  const repo = ref.repositoryOnly();
  const signalOf = (signal: AbortSignal | undefined) => (signal ? { signal } : {});
  return {
    kind: 'registry',
    name: repo.repository,
    tag: ref.tag ?? undefined,
    digest: ref.digest ?? undefined,
    reference: repo,
    format: (tag, digest) => `${repo.repository}${tag ? `:${tag}` : ''}@${digest}`,
    async hasBlob(descriptor, signal) {
      return (await client.headBlob(repo, descriptor.digest, signalOf(signal))) !== null;
    },
    async hasManifest(digest, signal) {
      try {
        await client.resolve(repo.withDigest(digest), signalOf(signal));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    async tagDigest(tag, signal) {
      try {
        return (await client.resolve(repo.withTag(tag), signalOf(signal))).digest;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async putBlob(descriptor, open, put = {}) {
      const result = await client.uploadBlob(
        repo,
        { digest: descriptor.digest, size: descriptor.size, open },
        {
          mediaType: descriptor.mediaType,
          missing: true,
          ...(put.mountFrom ? { mountFrom: put.mountFrom } : {}),
          ...(options.chunkedAbove !== undefined ? { chunkedAbove: options.chunkedAbove } : {}),
          ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
          ...(options.state ? { state: options.state } : {}),
          ...(put.onProgress ? { onProgress: put.onProgress } : {}),
          ...signalOf(put.signal),
        },
      );
      return result.action === 'mounted' ? 'mounted' : 'uploaded';
    },
    async putManifest(manifest, put) {
      const target = put.tag
        ? repo.withTag(put.tag).withDigest(manifest.digest)
        : repo.withDigest(manifest.digest);
      const answer = await client.putManifest(target, manifest.raw, {
        mediaType: manifest.mediaType,
        ...signalOf(put.signal),
      });
      return { subjectIndexed: answer.ociSubject !== undefined };
    },
    async ensureReferrer(subject, referrer, signal) {
      const known = await client.referrers(repo, subject, signalOf(signal));
      if (known.some((d) => d.digest === referrer.digest)) return false;
      // No referrers API here (or it does not list this one yet): the tag schema's index.
      const tagged = repo.withTag(referrersTag(subject));
      let manifests: Descriptor[] = [];
      try {
        const index = await client.getManifest(tagged, {
          accept: [MediaType.OCI_INDEX],
          ...signalOf(signal),
        });
        if (index.kind === 'index') manifests = index.value.manifests;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (manifests.some((d) => d.digest === referrer.digest)) return false;
      const raw = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_INDEX,
          manifests: [...manifests, referrer],
        }),
      );
      await client.pushManifest(tagged, raw, { mediaType: MediaType.OCI_INDEX, ...signalOf(signal) });
      return true;
    },
    async commit() {},
  };
}

/**
 * An OCI image layout as a destination (made or extended; `index.json` written by `commit()`).
 * Copies into one layout at once (the tags of a mirror entry) share one writer: pass it instead of
 * the folder, or their `index.json` entries would overwrite each other.
 */
export async function layoutDestination(
  dir: string | OciLayoutWriter,
  tag: string | undefined,
): Promise<ImageDestination> {
  const writer = typeof dir === 'string' ? await OciLayoutWriter.open(dir) : dir;
  return {
    kind: 'oci-layout',
    name: writer.label,
    tag,
    digest: undefined,
    format: (t, digest) => `${writer.label}${t ? `:${t}` : ''}@${digest}`,
    hasBlob: (descriptor) => writer.hasBlob(descriptor.digest, descriptor.size),
    hasManifest: (digest) => writer.hasBlob(digest),
    async tagDigest(t) {
      const entry = writer.tagged(t);
      return entry && (await writer.hasBlob(entry.digest)) ? entry.digest : null;
    },
    async putBlob(descriptor, open, put = {}) {
      await writer.writeBlob(descriptor, await open(), {
        verified: true,
        ...(put.onProgress ? { onProgress: put.onProgress } : {}),
        ...(put.signal ? { signal: put.signal } : {}),
      });
      return 'uploaded';
    },
    async putManifest(manifest, put) {
      const descriptor: Descriptor = {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.raw.byteLength,
      };
      if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
      await writer.writeBytes(descriptor, manifest.raw);
      if (put.tag) writer.add(descriptor, put.tag);
      else if (put.listed) writer.add(descriptor);
      return { subjectIndexed: true };
    },
    // A layout has no referrers API; referrers are listed in index.json (untagged) instead.
    ensureReferrer: async () => false,
    commit: () => writer.commit(),
  };
}
