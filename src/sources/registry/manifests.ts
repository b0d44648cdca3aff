/**
 * @module registry/manifests
 * Manifests over the distribution API: HEAD for a descriptor, GET for the exact bytes, and
 * `resolve`, which spends one request whenever the registry allows it.
 *
 * `resolve` follows crane's `digest`: HEAD with every manifest and index media type in `Accept`
 * (without the index types Docker Hub answers with the amd64 manifest's digest), read
 * `Docker-Content-Digest`; when the header is missing or the HEAD fails for a reason other than
 * auth or the network, GET the manifest and hash the raw bytes. A by-digest reference is always
 * verified against what came back.
 */
import { type Digest, parseDigest } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import {
  type Descriptor,
  descriptorOf,
  MAX_MANIFEST_BYTES,
  type ParsedManifest,
  parseManifest,
  stripParameters,
} from '../../core/manifest.js';
import { MANIFEST_ACCEPT } from '../../core/media-types.js';
import type { Reference } from '../../core/reference.js';
import { digestKindOf, type Resolution } from '../../core/resolution.js';
import { repositoryScope } from './auth.js';
import { registryError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import type { RegistrySession } from './session.js';
import type { HttpResponse } from './transport.js';

export interface CallOptions {
  signal?: AbortSignal;
}

export interface GetManifestOptions extends CallOptions {
  /** Media types to accept instead of the four manifest and index types. */
  accept?: readonly string[];
}

/** What `resolve` answers: a {@link Resolution} with the descriptor the registry described. */
export type RegistryResolution = Resolution & { descriptor: Descriptor };

/** @deprecated Use {@link RegistryResolution} (a `Resolution`); this name stays for existing code. */
export type ResolvedDescriptor = RegistryResolution;

/** Error bodies are small; a registry sending megabytes of error is not read to the end. */
export const MAX_ERROR_BODY = 64 * 1024;

/** `127.0.0.1:5000/app:tag` or `127.0.0.1:5000/app@sha256:...`, for messages. */
export function describeRef(ref: Reference): string {
  return ref.digest ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.identifier}`;
}

/** `/v2/<name>/manifests/<digest or tag>`. */
export function manifestPath(ref: Reference, identifier: string = ref.digest ?? ref.identifier): string {
  return `/v2/${ref.path}/manifests/${identifier}`;
}

/** Throw the registry error a non-success response stands for (reading its error body, if any). */
export async function throwResponseError(
  response: HttpResponse,
  subject: string,
  kind: Parameters<typeof registryError>[0]['kind'],
): Promise<never> {
  // A HEAD has no body to read; waiting for its connection to be free lets the GET that may follow
  // (a fallback, a retry) reuse it.
  const body =
    response.method === 'HEAD'
      ? await response.dump().then(() => null)
      : await response.bytes(MAX_ERROR_BODY).catch(() => null);
  throw registryError({
    method: response.method,
    url: response.url,
    status: response.status,
    body,
    subject,
    kind,
    retryAfterMs: parseRetryAfter(response.headers['retry-after']),
  });
}

/** The Accept header of manifest requests, joined once. */
const MANIFEST_ACCEPT_HEADER = MANIFEST_ACCEPT.join(', ');

/** What a HEAD found: the descriptor, or the manifest is missing, or the answer lacked a header. */
type HeadOutcome = Descriptor | 'missing' | 'incomplete';

/** A `sha256:` digest as registries send it (the common case, checked without taking it apart). */
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

async function head(session: RegistrySession, ref: Reference, options: CallOptions): Promise<HeadOutcome> {
  const response = await session.request({
    method: 'HEAD',
    url: manifestPath(ref),
    headers: { accept: MANIFEST_ACCEPT_HEADER },
    scopes: [repositoryScope(ref.path)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 404) {
    await response.dump(); // the GET that may follow, on the same connection
    return 'missing';
  }
  if (response.status < 200 || response.status >= 300)
    await throwResponseError(response, describeRef(ref), 'manifest');
  const digestHeader = response.header('docker-content-digest');
  const contentType = response.header('content-type');
  const size = Number(response.header('content-length'));
  // crane's headManifest needs all three; without one of them the GET gives the truth, over the
  // same connection once it is free.
  if (!digestHeader || !contentType || !Number.isSafeInteger(size)) {
    await response.dump();
    return 'incomplete';
  }
  const trimmed = digestHeader.trim();
  const digest = SHA256_DIGEST.test(trimmed)
    ? (trimmed as Digest)
    : parseDigest(trimmed, { mode: 'grammar' }).digest;
  if (ref.digest && digest !== ref.digest) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `manifest ${describeRef(ref)} digest mismatch: expected ${ref.digest}, registry says ${digest} (HEAD ${response.url.href})`,
      { details: { expected: ref.digest, actual: digest } },
    );
  }
  return { mediaType: stripParameters(contentType), digest, size };
}

/**
 * The descriptor of a manifest from one HEAD, or null when the registry says it does not exist.
 * @throws `REGISTRY_ERROR` when the registry leaves out the digest, type or length (use `resolve`).
 */
export async function headManifest(
  session: RegistrySession,
  ref: Reference,
  options: CallOptions = {},
): Promise<Descriptor | null> {
  const outcome = await head(session, ref, options);
  if (outcome === 'missing') return null;
  if (outcome === 'incomplete') {
    throw new ImgdigestError(
      'REGISTRY_ERROR',
      `registry ${session.name} answered HEAD ${manifestPath(ref)} without Docker-Content-Digest, Content-Type or Content-Length`,
      { details: { method: 'HEAD', reference: describeRef(ref) } },
    );
  }
  return outcome;
}

/** The manifest with its exact bytes, at most 4 MiB, verified when `ref` has a digest. */
export async function getManifest(
  session: RegistrySession,
  ref: Reference,
  options: GetManifestOptions = {},
): Promise<ParsedManifest> {
  const response = await session.request({
    method: 'GET',
    url: manifestPath(ref),
    headers: { accept: options.accept ? options.accept.join(', ') : MANIFEST_ACCEPT_HEADER },
    scopes: [repositoryScope(ref.path)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status !== 200) await throwResponseError(response, describeRef(ref), 'manifest');
  const raw = await response.bytes(MAX_MANIFEST_BYTES, (size) => tooLarge(ref, size));
  const contentType = response.header('content-type');
  return parseManifest(raw, {
    ...(contentType ? { contentType } : {}),
    ...(ref.digest ? { expectedDigest: ref.digest } : {}),
    source: describeRef(ref),
  });
}

function tooLarge(ref: Reference, size: number): ImgdigestError {
  return new ImgdigestError(
    'MANIFEST_TOO_LARGE',
    `manifest ${describeRef(ref)} is more than ${MAX_MANIFEST_BYTES} bytes (${size} seen); refusing to read it`,
    { details: { size, limit: MAX_MANIFEST_BYTES } },
  );
}

/** Failures after which a GET is still worth trying: not auth, not the network, not an abort. */
function fallsBackToGet(error: unknown): boolean {
  return isImgdigestError(error) && (error.code === 'REGISTRY_ERROR' || error.code === 'NOT_FOUND');
}

/** The digest a reference names now: one HEAD when the registry sends the digest header, else a GET. */
export async function resolve(
  session: RegistrySession,
  ref: Reference,
  options: CallOptions = {},
): Promise<RegistryResolution> {
  try {
    const outcome = await head(session, ref, options);
    if (typeof outcome === 'object') return resolutionOf(ref, outcome, 'head');
  } catch (error) {
    if (!fallsBackToGet(error)) throw error;
  }
  const manifest = await getManifest(session, ref, options);
  return { ...resolutionOf(ref, descriptorOf(manifest), 'get'), manifest };
}

function resolutionOf(ref: Reference, descriptor: Descriptor, via: 'head' | 'get'): RegistryResolution {
  return {
    reference: ref,
    digest: descriptor.digest,
    kind: digestKindOf(descriptor.mediaType),
    mediaType: descriptor.mediaType,
    size: descriptor.size,
    resolvedAt: nowIso(),
    via,
    descriptor,
  };
}

let isoMs = Number.NaN;
let isoText = '';

/** `new Date().toISOString()`, made once per millisecond (a batch resolves several tags in one). */
function nowIso(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** The reference `identifier` (a tag or a digest) names in `ref`'s repository. */
export function atIdentifier(ref: Reference, identifier: string): Reference {
  const repo = ref.repositoryOnly();
  return identifier.includes(':') ? repo.withDigest(identifier as Digest) : repo.withTag(identifier);
}
