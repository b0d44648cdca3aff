/**
 * @module registry/push
 * Writing to a registry, as much as the image builder, the quick start, the tests and the
 * benchmarks need: a monolithic blob upload (POST, then PUT with `?digest=`) of bytes in memory or
 * of a stream opened per attempt, skipped when the repository has the blob already; a manifest PUT
 * with its media type as `Content-Type`, checked against the digest the registry reports; and a
 * manifest DELETE. Pushing a whole image (blobs, then children, then the index, then tags) is
 * `pushImageSet` in `builder/`, written over these.
 *
 * A manifest with a `subject` pushed to a registry without the referrers API (no `OCI-Subject`
 * header in the answer, as distribution 2.8) is added to the subject's referrers tag index, and
 * deleting one removes it there: the client's duty in the spec ("Pushing Manifests with Subject",
 * "Deleting Manifests"). Two clients updating one tag at once can lose an entry: the spec accepts
 * that race and registries of this kind offer no conditional PUT to close it.
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-manifests-with-subject
 */
import type { Readable } from 'node:stream';
import { type Digest, digestOf, parseDigest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import { artifactTypeOf, type Descriptor, type ParsedManifest, parseManifest } from '../../core/manifest.js';
import { MediaType } from '../../core/media-types.js';
import type { Reference } from '../../core/reference.js';
import { repositoryScope } from './auth.js';
import { type CallOptions, describeRef, manifestPath, throwResponseError } from './manifests.js';
import {
  hasReferrersApi,
  readReferrersTag,
  referrersIndexBytes,
  referrersIndexOrFail,
  referrersTag,
} from './referrers.js';
import type { RegistrySession } from './session.js';

const PUSH = ['pull', 'push'];

export interface PushBlobOptions extends CallOptions {
  /** The media type for the returned descriptor (default `application/octet-stream`). */
  mediaType?: string;
}

/**
 * A blob too large to hold in memory: its digest and size, known beforehand, and a function that
 * opens its bytes (called again for every attempt). The registry checks the digest on upload.
 */
export interface StreamedBlob {
  digest: Digest;
  size: number;
  open(): Readable | AsyncIterable<Uint8Array>;
}

/** Upload a blob unless the registry has it already; returns its descriptor. */
export async function pushBlob(
  session: RegistrySession,
  repo: Reference,
  content: Uint8Array | StreamedBlob,
  options: PushBlobOptions = {},
): Promise<Descriptor> {
  const streamed = content instanceof Uint8Array ? null : content;
  const digest = streamed ? parseDigest(streamed.digest).digest : digestOf(content as Uint8Array);
  const size = streamed ? streamed.size : (content as Uint8Array).byteLength;
  const descriptor: Descriptor = {
    mediaType: options.mediaType ?? 'application/octet-stream',
    digest,
    size,
  };
  const scopes = [repositoryScope(repo.path, PUSH)];
  const signal = options.signal ? { signal: options.signal } : {};
  const subject = `${repo.repository}@${digest}`;
  const exists = await session.request({
    method: 'HEAD',
    url: `/v2/${repo.path}/blobs/${digest}`,
    scopes,
    ...signal,
  });
  if (exists.status === 200) return descriptor;
  const start = await session.request({
    method: 'POST',
    url: `/v2/${repo.path}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scopes,
    ...signal,
  });
  if (start.status === 201) {
    await start.dump();
    return descriptor;
  }
  if (start.status !== 202) await throwResponseError(start, subject, 'upload');
  await start.dump();
  const location = start.header('location');
  if (!location) {
    throw new ImgdigestError(
      'REGISTRY_ERROR',
      `registry ${session.name} started an upload for ${subject} without a Location`,
      {
        details: { method: 'POST', registry: session.name },
      },
    );
  }
  const target = new URL(location, start.url);
  target.searchParams.set('digest', digest);
  const put = await session.request({
    method: 'PUT',
    url: target,
    headers: {
      'content-type': 'application/octet-stream',
      ...(streamed ? { 'content-length': String(size) } : {}),
    },
    body: streamed ? () => streamed.open() : (content as Uint8Array),
    scopes,
    ...signal,
  });
  if (put.status !== 201 && put.status !== 204) await throwResponseError(put, subject, 'upload');
  await put.dump();
  return descriptor;
}

export interface PushManifestOptions extends CallOptions {
  /** The `Content-Type` to send; by default the document's own `mediaType`. */
  mediaType?: string;
}

/** PUT a manifest under `ref`'s tag (or its digest when it has no tag); returns its descriptor. */
export async function pushManifest(
  session: RegistrySession,
  ref: Reference,
  raw: Uint8Array,
  options: PushManifestOptions = {},
): Promise<Descriptor> {
  return (await putManifest(session, ref, raw, options)).descriptor;
}

/** What a manifest PUT answered. */
export interface ManifestPut {
  descriptor: Descriptor;
  /**
   * The `OCI-Subject` header: the registry took note of the manifest's `subject` for its referrers
   * API. Without it, a client that pushed a referrer keeps the referrers tag up to date itself.
   */
  ociSubject: string | undefined;
}

/** {@link pushManifest}, with what the registry said about the manifest's subject. */
export async function putManifest(
  session: RegistrySession,
  ref: Reference,
  raw: Uint8Array,
  options: PushManifestOptions = {},
): Promise<ManifestPut> {
  const mediaType = options.mediaType ?? mediaTypeOf(raw);
  const algorithm = ref.digest ? parseDigest(ref.digest).algorithm : 'sha256';
  const digest = digestOf(raw, algorithm);
  if (ref.digest && ref.digest !== digest) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `manifest for ${describeRef(ref)} digest mismatch: expected ${ref.digest}, got ${digest}`,
      {
        details: { expected: ref.digest, actual: digest },
      },
    );
  }
  const response = await session.request({
    method: 'PUT',
    url: manifestPath(ref, ref.tag ?? digest),
    headers: { 'content-type': mediaType },
    body: raw,
    scopes: [repositoryScope(ref.path, PUSH)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status !== 201 && response.status !== 200 && response.status !== 202) {
    await throwResponseError(response, describeRef(ref), 'manifest');
  }
  await response.dump();
  const served = response.header('docker-content-digest');
  // The registry MUST store the exact bytes; a different digest means it did not.
  if (served?.startsWith(`${algorithm}:`) && served !== digest) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `registry stored manifest ${describeRef(ref)} as ${served}, expected ${digest}`,
      {
        details: { expected: digest, actual: served },
      },
    );
  }
  const pushed: Descriptor = { mediaType, digest: digest as Digest, size: raw.byteLength };
  const parsed = subjectManifest(raw, mediaType, digest);
  // A registry with the referrers API says so with OCI-Subject; without it, the tag is ours to keep.
  const ociSubject = response.header('oci-subject');
  if (parsed?.value.subject && !ociSubject) {
    await addToReferrersTag(session, ref, parsed.value.subject.digest, referrerDescriptor(parsed), options);
  }
  return { descriptor: pushed, ociSubject };
}

/** The parsed manifest when it names a subject (anything unparsable is left to the registry). */
function subjectManifest(raw: Uint8Array, mediaType: string, digest: string): ParsedManifest | null {
  if (!Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).includes('"subject"')) return null;
  try {
    const parsed = parseManifest(raw, { contentType: mediaType, source: digest });
    return parsed.value.subject ? parsed : null;
  } catch {
    return null;
  }
}

/** The descriptor of a referrer as the referrers list carries it (spec: artifactType, annotations). */
function referrerDescriptor(manifest: ParsedManifest): Descriptor {
  const d: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  const artifactType = artifactTypeOf(manifest);
  if (artifactType) d.artifactType = artifactType;
  if (manifest.value.annotations) d.annotations = { ...manifest.value.annotations };
  return d;
}

/** Add `entry` to the referrers tag of `subject` (once; an entry already there is left alone). */
async function addToReferrersTag(
  session: RegistrySession,
  ref: Reference,
  subject: Digest,
  entry: Descriptor,
  options: CallOptions,
): Promise<void> {
  const entries = referrersIndexOrFail(await readReferrersTag(session, ref, subject, options), ref, subject);
  if (entries.some((d) => d.digest === entry.digest)) return;
  await putReferrersTag(session, ref, subject, [...entries, entry], options);
}

async function putReferrersTag(
  session: RegistrySession,
  ref: Reference,
  subject: Digest,
  entries: Descriptor[],
  options: CallOptions,
): Promise<void> {
  await pushManifest(
    session,
    ref.repositoryOnly().withTag(referrersTag(subject)),
    referrersIndexBytes(entries),
    {
      mediaType: MediaType.OCI_INDEX,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}

function mediaTypeOf(raw: Uint8Array): string {
  try {
    const json = JSON.parse(Buffer.from(raw).toString('utf8')) as { mediaType?: unknown };
    if (typeof json.mediaType === 'string' && json.mediaType) return json.mediaType;
  } catch {
    // fall through to the error below
  }
  throw new ImgdigestError(
    'MANIFEST_INVALID',
    'cannot push a manifest without a mediaType field unless one is given',
    {},
  );
}

export interface DeleteManifestOptions extends CallOptions {
  /**
   * The `subject` of the manifest being deleted, when it has one: on a registry without the
   * referrers API the manifest is then also removed from the subject's referrers tag.
   */
  subject?: Digest;
}

/** What a delete did besides the DELETE itself. */
export interface DeleteOutcome {
  /** The referrers tag of the subject was rewritten without the deleted manifest. */
  referrersTagUpdated: boolean;
}

/** DELETE a manifest (by digest when the reference has one, else by tag). */
export async function deleteManifest(
  session: RegistrySession,
  ref: Reference,
  options: DeleteManifestOptions = {},
): Promise<DeleteOutcome> {
  const response = await session.request({
    method: 'DELETE',
    url: manifestPath(ref),
    scopes: [repositoryScope(ref.path, ['pull', 'push', 'delete'])],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status !== 202 && response.status !== 200 && response.status !== 204) {
    await throwResponseError(response, describeRef(ref), 'manifest');
  }
  await response.dump();
  if (!options.subject || !ref.digest) return { referrersTagUpdated: false };
  return {
    referrersTagUpdated: await dropFromReferrersTag(session, ref, options.subject, ref.digest, options),
  };
}

/** Remove `digest` from the referrers tag of `subject` when the registry has no referrers API. */
async function dropFromReferrersTag(
  session: RegistrySession,
  ref: Reference,
  subject: Digest,
  digest: Digest,
  options: CallOptions,
): Promise<boolean> {
  if (await hasReferrersApi(session, ref, subject, options)) return false;
  const entries = referrersIndexOrFail(await readReferrersTag(session, ref, subject, options), ref, subject);
  const kept = entries.filter((d) => d.digest !== digest);
  if (kept.length === entries.length) return false;
  await putReferrersTag(session, ref, subject, kept, options);
  return true;
}
