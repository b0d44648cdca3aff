/**
 * @module builder/image-set
 * A set of built images: every blob, every manifest in push order (children before parents) and
 * the tags. The two ways out of memory take a set: `push.ts` (to a registry, through the registry
 * client) and `layout.ts` (an OCI image layout on disk).
 */
import type { Digest } from '../core/digest.js';
import { ImgdigestError } from '../core/errors.js';
import type { Blob, BuiltImage, BuiltManifest } from './objects.js';

/** Built images ready to push or write: every blob, every manifest (children before parents), tags. */
export interface ImageSet {
  blobs: Map<Digest, Uint8Array>;
  /** In push order: a manifest always comes after everything it references. */
  manifests: BuiltManifest[];
  tags: Record<string, Digest>;
}

export function createImageSet(): ImageSet {
  return { blobs: new Map(), manifests: [], tags: {} };
}

export function addBlob(set: ImageSet, blob: Blob): void {
  set.blobs.set(blob.digest, blob.bytes);
}

/** Add a manifest (once; later duplicates are ignored) and point `tags` at it. */
export function addManifest(set: ImageSet, manifest: BuiltManifest, ...tags: string[]): void {
  if (!set.manifests.some((m) => m.digest === manifest.digest)) set.manifests.push(manifest);
  for (const tag of tags) set.tags[tag] = manifest.digest;
}

/** Add an image's config, layers and manifest, and point `tags` at the manifest. */
export function addImage(set: ImageSet, image: BuiltImage, ...tags: string[]): void {
  addBlob(set, image.config);
  for (const layer of image.layers) addBlob(set, layer);
  addManifest(set, image.manifest, ...tags);
}

/** Copy everything of `from` into `into` (tags of `from` win). */
export function mergeImageSets(into: ImageSet, from: ImageSet): ImageSet {
  for (const [digest, bytes] of from.blobs) into.blobs.set(digest, bytes);
  for (const m of from.manifests) addManifest(into, m);
  Object.assign(into.tags, from.tags);
  return into;
}

/** The manifest `tag` points at; refuses a tag whose manifest the set does not hold. */
export function manifestIn(set: ImageSet, digest: Digest, tag: string): BuiltManifest {
  const m = set.manifests.find((x) => x.digest === digest);
  if (!m)
    throw new ImgdigestError(
      'INPUT_INVALID',
      `tag "${tag}" points at ${digest}, which the set does not hold`,
    );
  return m;
}
