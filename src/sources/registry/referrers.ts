/**
 * @module registry/referrers
 * Manifests that refer to a subject (signatures, SBOMs, attestations): the OCI 1.1 referrers API,
 * the referrers tag schema for registries without it, and cosign's legacy tags.
 *
 * distribution-spec: `GET /v2/<name>/referrers/<digest>` answers 200 with an image index when
 * supported (filtered by `?artifactType=` when `OCI-Filters-Applied` says so, paged by `Link`); a
 * 404 means "not supported", and clients then read the index tagged `<alg>-<encoded>`. A client
 * that pushes a manifest with a `subject` to such a registry keeps that index itself (`push.ts`).
 *
 * Before OCI 1.1, cosign stored a signature under the tag `sha256-<hex>.sig` of the subject's
 * repository (`.att` for attestations, `.sbom` for SBOMs); those manifests name no subject, so
 * neither the API nor the tag schema finds them, and `cosignTags` asks for the three tags.
 */
import { type Digest, parseDigest } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import { type Descriptor, type ParsedManifest, parseManifest } from '../../core/manifest.js';
import { MediaType } from '../../core/media-types.js';
import { ANCHORED_TAG_REGEXP, type Reference } from '../../core/reference.js';
import { repositoryScope } from './auth.js';
import { MAX_PAGES, nextLink } from './listing.js';
import {
  type CallOptions,
  getManifest,
  headManifest,
  MAX_ERROR_BODY,
  resolve,
  throwResponseError,
} from './manifests.js';
import type { RegistrySession } from './session.js';
import type { HttpResponse } from './transport.js';

export interface ReferrersOptions extends CallOptions {
  /** Only referrers of this artifact type. */
  artifactType?: string;
}

/** Where a referrer was found. */
export type ReferrerSource = 'referrers-api' | 'referrers-tag' | 'cosign-tag';

/** One referrer: its descriptor, where it was found, and the tag for cosign's legacy tags. */
export interface Referrer extends Descriptor {
  source: ReferrerSource;
  /** The tag it was read from (cosign's `sha256-<hex>.sig` and the like). */
  tag?: string;
}

/** The referrers of one subject digest. */
export interface ReferrersListing {
  subject: Digest;
  /** `referrers-api` when the registry answered the API, `referrers-tag` when it has none. */
  via: 'referrers-api' | 'referrers-tag';
  referrers: Referrer[];
}

export interface DiscoverOptions extends ReferrersOptions {
  /** Also look for cosign's `.sig`, `.att` and `.sbom` tags (default true). */
  cosignTags?: boolean;
}

/**
 * cosign's legacy tag suffixes and the artifact type cosign gives the same kind of object when it
 * stores it as an OCI 1.1 referrer (its `--registry-referrers-mode=oci-1-1`); `--artifact-type`
 * filters legacy tags by these.
 */
export const COSIGN_TAGS = [
  { suffix: 'sig', kind: 'signature', artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' },
  { suffix: 'att', kind: 'attestation', artifactType: 'application/vnd.dev.cosign.artifact.att.v1+json' },
  { suffix: 'sbom', kind: 'sbom', artifactType: 'application/vnd.dev.cosign.artifact.sbom.v1+json' },
] as const;

/**
 * The fallback tag of a subject digest: the algorithm cut to 32 characters, the encoded part cut
 * to 64, characters outside `[a-zA-Z0-9._-]` replaced by `-` (distribution-spec "Referrers Tag
 * Schema").
 * @example referrersTag('sha256:aaaa...') // 'sha256-aaaa...'
 */
export function referrersTag(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest, { mode: 'grammar' });
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${clean(algorithm.slice(0, 32))}-${clean(encoded.slice(0, 64))}`;
}

/**
 * cosign's legacy tag for a subject: `<algorithm>-<hex>.<suffix>`; null when that is no valid tag
 * (a digest too long for 128 characters: cosign only writes sha256 subjects).
 * @example cosignTag('sha256:aaaa...', 'sig') // 'sha256-aaaa....sig'
 */
export function cosignTag(digest: string, suffix: string): string | null {
  const { algorithm, encoded } = parseDigest(digest, { mode: 'grammar' });
  const tag = `${algorithm}-${encoded}.${suffix}`;
  return ANCHORED_TAG_REGEXP.test(tag) ? tag : null;
}

function filterByType<T extends Descriptor>(descriptors: T[], artifactType: string | undefined): T[] {
  return artifactType ? descriptors.filter((d) => d.artifactType === artifactType) : descriptors;
}

async function readIndex(response: HttpResponse, source: string): Promise<Descriptor[]> {
  const raw = await response.bytes();
  const index = parseManifest(raw, { contentType: MediaType.OCI_INDEX, source });
  return index.kind === 'index' ? index.value.manifests : [];
}

/** The referrers of `digest` in `repo` (API, else the referrers tag), as descriptors. */
export async function listReferrers(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: ReferrersOptions = {},
): Promise<Descriptor[]> {
  const listing = await findReferrers(session, repo, digest, options);
  return listing.referrers.map(({ source: _source, tag: _tag, ...descriptor }) => descriptor);
}

/** The referrers of `digest` from the API, or from the referrers tag when the registry has no API. */
export async function findReferrers(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: ReferrersOptions = {},
): Promise<ReferrersListing> {
  const subject = `referrers of ${repo.repository}@${digest}`;
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
  let url: string | URL = `/v2/${repo.path}/referrers/${digest}${query}`;
  const found: Referrer[] = [];
  const seen = new Set<string>();
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const response = await session.request({
      method: 'GET',
      url,
      headers: { accept: MediaType.OCI_INDEX },
      scopes: [repositoryScope(repo.path)],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status === 404 && pages === 0) {
      await response.bytes(MAX_ERROR_BODY).catch(() => null);
      const fromTag = await fromTagSchema(session, repo, digest, options);
      return { subject: digest, via: 'referrers-tag', referrers: fromTag };
    }
    if (response.status !== 200) await throwResponseError(response, subject, 'referrers');
    const filtered = (response.header('oci-filters-applied') ?? '').split(',').map((s) => s.trim());
    const page = await readIndex(response, subject);
    const kept = filtered.includes('artifactType') ? page : filterByType(page, options.artifactType);
    found.push(...kept.map((d): Referrer => ({ ...d, source: 'referrers-api' })));
    seen.add(response.url.href);
    const next = nextLink(response.headers.link, response.url);
    if (!next || seen.has(next.href)) break;
    url = next;
  }
  return { subject: digest, via: 'referrers-api', referrers: found };
}

/** Referrers from the API or tag schema, then cosign's legacy tags (a digest is listed once). */
export async function discoverReferrers(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: DiscoverOptions = {},
): Promise<ReferrersListing> {
  const [listing, legacy] = await Promise.all([
    findReferrers(session, repo, digest, options),
    options.cosignTags === false ? [] : cosignTags(session, repo, digest, options),
  ]);
  const listed = new Set(listing.referrers.map((r) => r.digest));
  const extra = legacy.filter((r) => !listed.has(r.digest));
  return { ...listing, referrers: [...listing.referrers, ...extra] };
}

/**
 * The manifests behind cosign's `.sig`, `.att` and `.sbom` tags of `digest` (one HEAD each; a
 * missing tag is no error). Each gets the artifact type cosign uses for that kind today.
 */
export async function cosignTags(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: ReferrersOptions = {},
): Promise<Referrer[]> {
  const kinds = COSIGN_TAGS.filter((k) => !options.artifactType || k.artifactType === options.artifactType);
  const found = await Promise.all(
    kinds.map(async (kind): Promise<Referrer | null> => {
      const tag = cosignTag(digest, kind.suffix);
      if (!tag) return null;
      const descriptor = await headOrResolve(session, repo.repositoryOnly().withTag(tag), options);
      if (!descriptor) return null;
      return {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        artifactType: kind.artifactType,
        source: 'cosign-tag',
        tag,
      };
    }),
  );
  return found.filter((r): r is Referrer => r !== null);
}

/** A HEAD; a GET when the registry leaves headers out of it; null when the tag does not exist. */
async function headOrResolve(
  session: RegistrySession,
  ref: Reference,
  options: CallOptions,
): Promise<Descriptor | null> {
  try {
    return await headManifest(session, ref, options);
  } catch (error) {
    if (!isImgdigestError(error) || error.code !== 'REGISTRY_ERROR') throw error;
  }
  try {
    return (await resolve(session, ref, options)).descriptor;
  } catch (error) {
    if (isImgdigestError(error) && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

async function fromTagSchema(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: ReferrersOptions,
): Promise<Referrer[]> {
  const tag = referrersTag(digest);
  const index = await readReferrersTag(session, repo, digest, options);
  if (!index) return [];
  return filterByType(index.kind === 'index' ? index.value.manifests : [], options.artifactType).map(
    (d): Referrer => ({ ...d, source: 'referrers-tag', tag }),
  );
}

/**
 * The index under the referrers tag of `digest`, or null when there is no such tag. A missing
 * repository is still an error.
 */
export async function readReferrersTag(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: CallOptions = {},
): Promise<ParsedManifest | null> {
  try {
    return await getManifest(session, repo.repositoryOnly().withTag(referrersTag(digest)), {
      accept: [MediaType.OCI_INDEX],
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (
      isImgdigestError(error) &&
      error.code === 'NOT_FOUND' &&
      error.details.registryCode !== 'NAME_UNKNOWN'
    )
      return null;
    throw error;
  }
}

/** True when the registry answers the referrers API for `repo` (a 404 means it has none). */
export async function hasReferrersApi(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: CallOptions = {},
): Promise<boolean> {
  const response = await session.request({
    method: 'GET',
    url: `/v2/${repo.path}/referrers/${digest}`,
    headers: { accept: MediaType.OCI_INDEX },
    scopes: [repositoryScope(repo.path)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 404) {
    await response.dump();
    return false;
  }
  if (response.status !== 200) {
    await throwResponseError(response, `referrers of ${repo.repository}@${digest}`, 'referrers');
  }
  await response.dump();
  return true;
}

/** The referrers-tag index after a change: compact JSON, entries in order. */
export function referrersIndexBytes(manifests: readonly Descriptor[]): Uint8Array {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests }), 'utf8');
}

/** The tag's index must be an OCI index; anything else is reported, not overwritten. */
export function referrersIndexOrFail(
  found: ParsedManifest | null,
  repo: Reference,
  digest: Digest,
): Descriptor[] {
  if (!found) return [];
  if (found.kind !== 'index' || found.mediaType !== MediaType.OCI_INDEX) {
    throw new ImgdigestError(
      'REGISTRY_ERROR',
      `referrers tag ${repo.repository}:${referrersTag(digest)} holds a ${found.mediaType}, not an OCI index; left as it is`,
      { details: { tag: referrersTag(digest), mediaType: found.mediaType } },
    );
  }
  return [...found.value.manifests];
}
