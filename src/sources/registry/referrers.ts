/**
 * @module registry/referrers
 * Manifests that refer to a subject (signatures, SBOMs, attestations): the OCI 1.1 referrers API,
 * with the referrers tag schema as the fallback for registries without it.
 *
 * distribution-spec: `GET /v2/<name>/referrers/<digest>` answers 200 with an image index when
 * supported (filtered by `?artifactType=` when `OCI-Filters-Applied` says so, paged by `Link`); a
 * 404 means "not supported", and clients then read the index tagged `<alg>-<encoded>`.
 */
import { type Digest, parseDigest } from '../../core/digest.js';
import { isImgdigestError } from '../../core/errors.js';
import { type Descriptor, parseManifest } from '../../core/manifest.js';
import { MediaType } from '../../core/media-types.js';
import type { Reference } from '../../core/reference.js';
import { repositoryScope } from './auth.js';
import { MAX_PAGES, nextLink } from './listing.js';
import { type CallOptions, getManifest, MAX_ERROR_BODY, throwResponseError } from './manifests.js';
import type { RegistrySession } from './session.js';
import type { HttpResponse } from './transport.js';

export interface ReferrersOptions extends CallOptions {
  /** Only referrers of this artifact type. */
  artifactType?: string;
}

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

function filterByType(descriptors: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? descriptors.filter((d) => d.artifactType === artifactType) : descriptors;
}

async function readIndex(response: HttpResponse, source: string): Promise<Descriptor[]> {
  const raw = await response.bytes();
  const index = parseManifest(raw, { contentType: MediaType.OCI_INDEX, source });
  return index.kind === 'index' ? index.value.manifests : [];
}

/** The referrers of `digest` in `repo`. */
export async function listReferrers(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: ReferrersOptions = {},
): Promise<Descriptor[]> {
  const subject = `referrers of ${repo.repository}@${digest}`;
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
  let url: string | URL = `/v2/${repo.path}/referrers/${digest}${query}`;
  const found: Descriptor[] = [];
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
      return fromTagSchema(session, repo, digest, options);
    }
    if (response.status !== 200) await throwResponseError(response, subject, 'referrers');
    const filtered = (response.header('oci-filters-applied') ?? '').split(',').map((s) => s.trim());
    const page = await readIndex(response, subject);
    found.push(...(filtered.includes('artifactType') ? page : filterByType(page, options.artifactType)));
    seen.add(response.url.href);
    const next = nextLink(response.headers.link, response.url);
    if (!next || seen.has(next.href)) break;
    url = next;
  }
  return found;
}

async function fromTagSchema(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: ReferrersOptions,
): Promise<Descriptor[]> {
  try {
    const index = await getManifest(session, repo.repositoryOnly().withTag(referrersTag(digest)), {
      accept: [MediaType.OCI_INDEX],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return index.kind === 'index' ? filterByType(index.value.manifests, options.artifactType) : [];
  } catch (error) {
    // No fallback tag: nothing refers to the subject. A missing repository is still an error.
    if (
      isImgdigestError(error) &&
      error.code === 'NOT_FOUND' &&
      error.details.registryCode !== 'NAME_UNKNOWN'
    )
      return [];
    throw error;
  }
}
