/**
 * @module registry-server/load
 * `--load oci:DIR`: serve the images of an OCI image layout from the embedded registry.
 *
 * Naming (the image-layout spec leaves ref.name's form open; containerd and buildkit write a full
 * name, umoci and skopeo a bare tag, so both are read): every `index.json` entry whose
 * `org.opencontainers.image.ref.name` annotation is a full `repo:tag` (`alpine:3.19`,
 * `team/app:v1`, `ghcr.io/org/app:v1` whose domain is dropped, `docker.io/library/alpine:3.19`
 * which is served as `alpine`) is served as that repository and tag. Any other annotation (`v1`,
 * `latest`) is a tag of the repository named after the layout folder (its basename, lowercased, other characters turned into `-`). Entries without
 * the annotation are served by digest only, in the folder's repository.
 *
 * Every blob and manifest is verified against its digest while it is copied in (the layout reader
 * fails before the end of a wrong file), so a tampered layout cannot put bad bytes behind a digest.
 */
import { randomUUID } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageSet } from '../builder/image-set.js';
import type { Digest } from '../core/digest.js';
import { ImgdigestError } from '../core/errors.js';
import type { Descriptor } from '../core/manifest.js';
import { Annotation } from '../core/media-types.js';
import {
  ANCHORED_PATH_REGEXP,
  ANCHORED_TAG_REGEXP,
  DEFAULT_DOMAIN,
  parseReference,
} from '../core/reference.js';
import { OciLayoutSource, openOciLayout } from '../sources/local/oci-layout.js';
import { checkName, type RepoName } from './names.js';
import { isServedElsewhere, type Registry } from './registry.js';

/** One image served from a layout. */
export interface LoadedImage {
  repository: string;
  /** Null for entries without a usable ref.name (served by digest only). */
  tag: string | null;
  digest: Digest;
}

/** Where an `index.json` entry is served: see the module comment for the rule. */
export function loadTarget(
  annotation: string | undefined,
  folderRepo: string,
): { repository: string; tag: string | null } {
  if (annotation === undefined) return { repository: folderRepo, tag: null };
  try {
    // Docker's normalisation decides what is a domain (`team/app` has none; `ghcr.io/x` has one).
    const ref = parseReference(annotation);
    const repository = ref.domain === DEFAULT_DOMAIN ? ref.familiarRepository : ref.path;
    if (ref.tag && ANCHORED_PATH_REGEXP.test(repository)) return { repository, tag: ref.tag };
  } catch {
    // Not a reference: maybe a plain tag.
  }
  return { repository: folderRepo, tag: ANCHORED_TAG_REGEXP.test(annotation) ? annotation : null };
}

/** The repository named after a layout folder: `My Layout` -> `my-layout`. */
export function folderRepository(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (!ANCHORED_PATH_REGEXP.test(name)) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `--load oci:${dir}: cannot make a repository name from the folder name`,
    );
  }
  return name;
}

/** Copy every image of the layout `spec` (`oci:DIR`) into the registry. */
export async function loadLayout(registry: Registry, spec: string): Promise<LoadedImage[]> {
  if (!spec.startsWith('oci:') || spec.length === 4) {
    throw new ImgdigestError('USAGE', `--load expects oci:DIR, got "${spec}"`);
  }
  const dir = spec.slice(4);
  const source = await openOciLayout(dir);
  if (!(source instanceof OciLayoutSource))
    throw new ImgdigestError('SOURCE_ERROR', `${spec} is not a layout`);
  const folderRepo = folderRepository(dir);
  const loader = new LayoutLoader(registry, source);
  const loaded: LoadedImage[] = [];
  for (const entry of source.layoutIndex().value.manifests) {
    const target = loadTarget(entry.annotations?.[Annotation.REF_NAME], folderRepo);
    const repo = checkName(target.repository);
    await loader.copyManifest(repo, entry);
    if (target.tag) {
      const bytes = await registry.storage.readBlobBytes(entry.digest);
      await registry.putManifest(repo, { digest: entry.digest, tags: [target.tag] }, bytes, entry.mediaType);
    }
    loaded.push({ repository: repo, tag: target.tag, digest: entry.digest });
  }
  return loaded;
}

class LayoutLoader {
  private readonly done = new Set<string>();

  constructor(
    private readonly registry: Registry,
    private readonly source: OciLayoutSource,
  ) {}

  /** Copy a manifest and everything below it, children first (the registry checks they exist). */
  async copyManifest(repo: RepoName, descriptor: Descriptor): Promise<void> {
    const key = `${repo}@${descriptor.digest}`;
    if (this.done.has(key)) return;
    const parsed = await this.source.manifest(descriptor.digest);
    if (parsed.kind === 'index') {
      for (const child of parsed.value.manifests) await this.copyManifest(repo, child);
    } else {
      for (const blob of [parsed.value.config, ...parsed.value.layers]) {
        // Foreign layers live at their URLs, not in the layout (the registry's own test).
        if (isServedElsewhere(blob)) continue;
        await this.copyBlob(repo, blob);
      }
    }
    await this.registry.putManifest(
      repo,
      { digest: parsed.digest, tags: [] },
      Buffer.from(parsed.raw),
      descriptor.mediaType,
    );
    this.done.add(key);
  }

  private async copyBlob(repo: RepoName, descriptor: Descriptor): Promise<void> {
    const storage = this.registry.storage;
    if ((await storage.blobSize(descriptor.digest)) === null) {
      const reader = await this.source.blob({ digest: descriptor.digest, size: descriptor.size });
      const target = await storage.createUpload(randomUUID());
      try {
        await pipeline(reader.stream, target.writable(0));
        await target.commit(descriptor.digest);
      } catch (error) {
        await target.abort();
        throw error;
      }
    }
    await this.registry.linkBlob(repo, descriptor.digest);
  }
}

/**
 * Put an in-memory {@link ImageSet} (see `builder/`) into repository `repository` through the
 * registry's own storage, as a push would leave it: blobs linked, manifests children first, then
 * the tags. Needs no HTTP, so it works whatever auth or TLS the server uses.
 */
export async function loadImageSet(
  registry: Registry,
  repository: string,
  set: ImageSet,
): Promise<LoadedImage[]> {
  const repo = checkName(repository);
  for (const [digest, bytes] of set.blobs) {
    await registry.storage.putBlobBytes(digest, bytes);
    await registry.linkBlob(repo, digest);
  }
  for (const m of set.manifests) {
    await registry.putManifest(repo, { digest: m.digest, tags: [] }, Buffer.from(m.bytes), m.mediaType);
  }
  const loaded: LoadedImage[] = [];
  for (const [tag, digest] of Object.entries(set.tags)) {
    const m = set.manifests.find((x) => x.digest === digest);
    if (!m)
      throw new ImgdigestError(
        'INPUT_INVALID',
        `tag "${tag}" points at ${digest}, which the set does not hold`,
      );
    await registry.putManifest(repo, { digest, tags: [tag] }, Buffer.from(m.bytes), m.mediaType);
    loaded.push({ repository: repo, tag, digest });
  }
  return loaded;
}
