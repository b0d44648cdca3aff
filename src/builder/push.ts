/**
 * @module builder/push
 * Push an image set to a registry through the registry client: every blob (those the repository
 * has already are skipped), then every manifest by digest with its children before it, then the
 * tags. The client brings what a push needs (the auth handshake, retries, digest checks), so the
 * builder has no HTTP of its own.
 */
import type { Digest } from '../core/digest.js';
import { parseReference, type Reference } from '../core/reference.js';
import type { CallOptions, RegistryClient } from '../sources/registry/index.js';
import { type ImageSet, manifestIn } from './image-set.js';

/** What {@link pushImageSet} asks of the client. */
export type ImagePusher = Pick<RegistryClient, 'pushBlob' | 'pushManifest'>;

/**
 * Push `set` to the repository `repo` (`127.0.0.1:5000/sample`, or a parsed reference whose tag and
 * digest are ignored).
 *
 * @example
 * const client = new RegistryClient({ anonymous: true });
 * await pushImageSet(client, '127.0.0.1:5000/sample', await buildSampleImages());
 * await client.close();
 */
export async function pushImageSet(
  client: ImagePusher,
  repo: Reference | string,
  set: ImageSet,
  options: CallOptions = {},
): Promise<void> {
  const repository = (typeof repo === 'string' ? parseReference(repo) : repo).repositoryOnly();
  await Promise.all([...set.blobs.values()].map((bytes) => client.pushBlob(repository, bytes, options)));
  for (const m of set.manifests) {
    await client.pushManifest(repository.withDigest(m.digest), m.bytes, {
      ...options,
      mediaType: m.mediaType,
    });
  }
  await Promise.all(
    Object.entries(set.tags).map(([tag, digest]: [string, Digest]) => {
      const m = manifestIn(set, digest, tag);
      // Tag and digest both: the client checks the bytes against the digest before the PUT.
      return client.pushManifest(repository.withTag(tag).withDigest(digest), m.bytes, {
        ...options,
        mediaType: m.mediaType,
      });
    }),
  );
}
