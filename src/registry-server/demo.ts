/**
 * @module registry-server/demo
 * The demo images: what `imgdigest demo` and `imgdigest registry serve --demo` serve, and what the
 * README's examples name. Built in memory and deterministic, so every digest in the README and the
 * help texts is the digest a user gets.
 *
 * - `sample/app:1.0` and `:latest`: a multi-platform index (linux/amd64, linux/arm64, linux/arm/v7
 *   and a build attestation);
 * - `sample/app:1.1`: the next version, another index (so a tag can be moved to it);
 * - `sample/app:single`: a single-platform (linux/amd64) image;
 * - `sample/worker:2`: a single-platform (linux/amd64) image, with an SPDX SBOM that names it as
 *   its subject (an OCI 1.1 artifact, untagged: the referrers API lists it).
 */
import { addImage } from '../builder/image-set.js';
import { buildSampleImages, buildSampleSbom } from '../builder/samples.js';
import { type LoadedImage, loadImageSet } from './load.js';
import type { Registry } from './registry.js';

/**
 * Load the demo images into `registry` (the one place that decides what they are); returns what
 * was tagged, sorted by repository and tag.
 */
export async function loadDemoImages(registry: Registry): Promise<LoadedImage[]> {
  const app = await buildSampleImages('app');
  const next = await buildSampleImages('app', { version: '1.1' });
  const worker = await buildSampleImages('worker');
  worker.tags = { '2': worker.single.manifest.digest };
  addImage(worker, buildSampleSbom(worker.single.manifest, 'worker'));
  const loaded = [
    ...(await loadImageSet(registry, 'sample/app', app)),
    ...(await loadImageSet(registry, 'sample/app', next)),
    ...(await loadImageSet(registry, 'sample/worker', worker)),
  ];
  const key = (i: LoadedImage) => `${i.repository}:${i.tag}`;
  return loaded.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
