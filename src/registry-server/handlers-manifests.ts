/**
 * @module registry-server/handlers-manifests
 * The manifest and discovery endpoints of the distribution-spec: end-3 (GET/HEAD manifest), end-7
 * (PUT, with `?tag=`), end-9 (DELETE), end-8 (tags list), end-12 (referrers) and the catalog.
 */
import { MAX_MANIFEST_BYTES } from '../core/manifest.js';
import { MediaType } from '../core/media-types.js';
import { registryError } from './errors.js';
import { nextLink, paginate, readBody, sendEmpty, sendJson } from './http.js';
import { checkDigest, checkTag, isTag, looksLikeDigest } from './names.js';
import { MANIFEST_TYPES } from './registry.js';
import type { RouteContext } from './route-context.js';

/** GET/HEAD `/v2/<name>/manifests/<reference>`. */
export async function getManifest(ctx: RouteContext, reference: string): Promise<void> {
  const { registry, res, name, head } = ctx;
  const isDigest = looksLikeDigest(reference);
  if (isDigest) checkDigest(reference);
  else if (!isTag(reference))
    throw registryError('MANIFEST_UNKNOWN', { detail: { tag: reference.slice(0, 200) } });
  const meta = await registry.manifestMeta(name, reference, isDigest);
  if (!meta) {
    throw registryError('MANIFEST_UNKNOWN', {
      detail: isDigest ? { digest: reference } : { tag: reference },
    });
  }
  const headers = {
    // A root written by an older version may hold a manifest stored under any pushed type.
    'Content-Type': MANIFEST_TYPES.includes(meta.mediaType) ? meta.mediaType : 'application/octet-stream',
    'Docker-Content-Digest': meta.digest,
    'Content-Length': meta.size,
    ETag: `"${meta.digest}"`,
  };
  if (head) {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const body = await registry.manifestBody(meta);
  res.writeHead(200, headers);
  res.end(body);
}

/** PUT `/v2/<name>/manifests/<reference>[?tag=...]`. */
export async function putManifest(ctx: RouteContext, reference: string): Promise<void> {
  const { registry, req, res, name, query } = ctx;
  const isDigest = looksLikeDigest(reference);
  const digest = isDigest ? checkDigest(reference) : undefined;
  // end-7b: extra tags are allowed on a PUT by digest; on a PUT by tag the tag is the only one.
  const tags = isDigest ? query.getAll('tag').map(checkTag) : [checkTag(reference)];
  // Oversized: 413 as the spec's end-7 says, with the MANIFEST_INVALID code distribution sends.
  const body = await readBody(req, MAX_MANIFEST_BYTES, 'MANIFEST_INVALID');
  const contentType = req.headers['content-type'];
  const result = await registry.putManifest(name, { digest, tags }, body, contentType);
  const headers: Record<string, string | string[]> = {
    Location: `/v2/${name}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
  };
  if (result.subject) headers['OCI-Subject'] = result.subject;
  // One OCI-Tag line per tag created (distribution-spec main, end-7b).
  if (isDigest && tags.length > 0) headers['OCI-Tag'] = tags;
  sendEmpty(res, 201, headers);
}

/** DELETE `/v2/<name>/manifests/<reference>` (by digest or by tag). */
export async function deleteManifest(ctx: RouteContext, reference: string): Promise<void> {
  const isDigest = looksLikeDigest(reference);
  if (isDigest) checkDigest(reference);
  else checkTag(reference);
  await ctx.registry.deleteManifest(ctx.name, reference, isDigest);
  sendEmpty(ctx.res, 202);
}

/** GET `/v2/<name>/tags/list[?n=&last=]`. */
export async function listTags(ctx: RouteContext): Promise<void> {
  const tags = await ctx.registry.tags(ctx.name);
  if (tags === null) throw registryError('NAME_UNKNOWN', { detail: { name: ctx.name } });
  const { page, next } = paginate(tags, ctx.query);
  const headers: Record<string, string> = next ? { Link: nextLink(ctx.path, next) } : {};
  sendJson(ctx.res, 200, { name: ctx.name, tags: page }, headers, 'application/json', ctx.head);
}

/** GET `/v2/_catalog[?n=&last=]`. */
export async function listCatalog(ctx: RouteContext): Promise<void> {
  const { page, next } = paginate(await ctx.registry.catalog(), ctx.query);
  const headers: Record<string, string> = next ? { Link: nextLink(ctx.path, next) } : {};
  sendJson(ctx.res, 200, { repositories: page }, headers, 'application/json', ctx.head);
}

/** GET `/v2/<name>/referrers/<digest>[?artifactType=]`: always an image index, empty when none. */
export async function listReferrers(ctx: RouteContext, reference: string): Promise<void> {
  const digest = checkDigest(reference);
  const artifactType = ctx.query.get('artifactType') ?? undefined;
  const manifests = await ctx.registry.referrers(ctx.name, digest, artifactType);
  const headers: Record<string, string> =
    artifactType === undefined ? {} : { 'OCI-Filters-Applied': 'artifactType' };
  const index = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests };
  sendJson(ctx.res, 200, index, headers, MediaType.OCI_INDEX, ctx.head);
}
