/**
 * @module builder/layout
 * Write an image set as an OCI image layout: what `oci:DIR` reads, what skopeo and umoci read, and
 * what `registry serve --load` serves. The files are written by the layout writer of
 * `sources/local` (the one `imgdigest copy … oci:DIR` uses).
 * @see https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { OciLayoutWriter } from '../sources/local/oci-layout-writer.js';
import { type ImageSet, manifestIn } from './image-set.js';
import { descriptorFor } from './objects.js';

/**
 * Write `set` as an OCI image layout in `dir` (created if missing): `oci-layout`, `blobs/<alg>/<hex>`
 * for every blob and manifest, and `index.json` with one entry per tag, named by
 * `org.opencontainers.image.ref.name`, sorted by tag.
 */
export async function writeOciLayout(dir: string, set: ImageSet): Promise<void> {
  const writer = await OciLayoutWriter.open(dir);
  for (const [digest, bytes] of set.blobs) await writer.writeBytes({ digest, size: bytes.byteLength }, bytes);
  for (const m of set.manifests)
    await writer.writeBytes({ digest: m.digest, size: m.bytes.byteLength }, m.bytes);
  const tags = Object.entries(set.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [tag, digest] of tags) writer.add(descriptorFor(manifestIn(set, digest, tag)), tag);
  await writer.commit();
}
