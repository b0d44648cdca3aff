/**
 * pushImageSet over the registry client, against the embedded registry; what landed is read back
 * through the registry's own storage API, not through the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningRegistry, startRegistry } from '../registry-server/index.js';
import { checkName } from '../registry-server/names.js';
import { RegistryClient } from '../sources/registry/index.js';
import { addImage, buildSampleImages, createImageSet, pushImageSet, type SampleImages } from './index.js';

describe('pushImageSet', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  let set: SampleImages;
  beforeAll(async () => {
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    client = new RegistryClient({ anonymous: true });
    set = await buildSampleImages('pushed');
  });
  afterAll(async () => {
    await client.close();
    await registry.close();
  });

  it('puts every blob, every manifest with its exact bytes, and every tag into the repository', async () => {
    await pushImageSet(client, `${registry.host}/team/app`, set);
    const repo = checkName('team/app');
    for (const digest of set.blobs.keys())
      expect(await registry.registry.blobSize(repo, digest)).not.toBeNull();
    for (const m of set.manifests) {
      const meta = await registry.registry.manifestMeta(repo, m.digest, true);
      expect(meta, m.digest).not.toBeNull();
      expect(Buffer.from(await registry.registry.manifestBody(meta!)).equals(Buffer.from(m.bytes))).toBe(
        true,
      );
    }
    expect(await registry.registry.tags(repo)).toEqual(Object.keys(set.tags).sort());
    for (const [tag, digest] of Object.entries(set.tags)) {
      expect((await registry.registry.manifestMeta(repo, tag, false))?.digest).toBe(digest);
    }
  });

  it('refuses a tag that points at a manifest the set does not hold, naming both', async () => {
    const broken = createImageSet();
    addImage(broken, set.single);
    broken.tags.v1 = set.index.digest;
    await expect(pushImageSet(client, `${registry.host}/team/broken`, broken)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: `tag "v1" points at ${set.index.digest}, which the set does not hold`,
    });
  });
});
