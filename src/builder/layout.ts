/**
 * @module builder/layout
 * Write an image set as an OCI image layout: what `oci:DIR` reads, what skopeo and umoci read, and
 * what `registry serve --load` serves.
 * @see https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, parseDigest } from '../core/digest.js';
import type { Descriptor } from '../core/manifest.js';
import { Annotation, MediaType } from '../core/media-types.js';
import { type ImageSet, manifestIn } from './image-set.js';
import { descriptorFor } from './objects.js';

/**
 * Write `set` as an OCI image layout in `dir` (created if missing): `oci-layout`, `blobs/<alg>/<hex>`
 * for every blob and manifest, and `index.json` with one entry per tag, named by
 * `org.opencontainers.image.ref.name`, sorted by tag.
 */
export async function writeOciLayout(dir: string, set: ImageSet): Promise<void> {
  const objects: Array<[Digest, Uint8Array]> = [
    ...set.blobs,
    ...set.manifests.map((m): [Digest, Uint8Array] => [m.digest, m.bytes]),
  ];
  for (const [digest, bytes] of objects) {
    const { algorithm, encoded } = parseDigest(digest);
    await mkdir(join(dir, 'blobs', algorithm), { recursive: true });
    await writeFile(join(dir, 'blobs', algorithm, encoded), bytes);
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Descriptor[] = Object.entries(set.tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([tag, digest]) =>
      descriptorFor(manifestIn(set, digest, tag), { annotations: { [Annotation.REF_NAME]: tag } }),
    );
  const index = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
