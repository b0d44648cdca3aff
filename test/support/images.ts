/**
 * @module test/support/images
 * Seed a real registry with the images the tests need: the sample multi-platform index (with an
 * attestation) and single-platform image, a nested index (index -> index -> manifests), a Docker
 * schema 2 manifest list, an image with a zstd layer and, on request, a large blob (slow, opt-in).
 *
 * Expected digests are computed here from the exact bytes pushed, with node:crypto, not taken from
 * the builder, so a test that compares against them checks the builder too.
 */
import { createCipheriv, createHash } from 'node:crypto';
import {
  addImage,
  addManifest,
  type BuiltImage,
  type BuiltManifest,
  blobOf,
  buildImage,
  buildIndex,
  buildManifest,
  buildSampleImages,
  createImageSet,
  type ImageSet,
  jsonBlob,
  type PushCredentials,
  RegistryPusher,
  type SampleImages,
} from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { MediaType } from '../../src/core/media-types.js';

/** What a test needs to know about one pushed tag. */
export interface SeededRef {
  repo: string;
  tag: string;
  /** `127.0.0.1:PORT/repo:tag`. */
  ref: string;
  /** sha256 of {@link bytes}, computed here. */
  digest: Digest;
  mediaType: string;
  bytes: Uint8Array;
}

export interface SeededImages {
  /** `sample:latest`: the OCI index for linux/amd64, linux/arm64, linux/arm/v7 + one attestation. */
  sample: SeededRef & {
    set: SampleImages;
    /** Platform (`linux/arm/v7`) -> image manifest digest. */
    platforms: Record<string, Digest>;
    attestation: Digest;
  };
  /** `sample:single`: a single-platform (linux/amd64) OCI image manifest. */
  single: SeededRef;
  /** `nested:latest`: an index whose one entry is an index of linux/amd64 and linux/arm64 images. */
  nested: SeededRef & { inner: Digest; platforms: Record<string, Digest> };
  /** `dockerlist:latest`: a Docker schema 2 manifest list of linux/amd64 and linux/arm64 images. */
  dockerList: SeededRef & { platforms: Record<string, Digest> };
  /** `zstd:latest`: an OCI image whose layer is `tar+zstd`. */
  zstd: SeededRef & { layer: { digest: Digest; size: number } };
  /** `large:latest`: an artifact whose one blob is large (only with `largeBlobBytes`). */
  large?: SeededRef & { blob: { digest: Digest; size: number } };
}

export interface SeedOptions {
  /** Push a pseudo-random blob of this many bytes (e.g. 110 MiB); slow, so off by default. */
  largeBlobBytes?: number;
}

/** A registry to seed: anything with a base URL and host (a {@link Distribution} fits). */
export interface SeedTarget {
  url: string;
  host: string;
  credentials?: PushCredentials;
  auth?: string;
}

function sha256(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Push everything and return what was pushed, with independently computed digests. */
export async function seedRegistry(target: SeedTarget, options: SeedOptions = {}): Promise<SeededImages> {
  const pusher = new RegistryPusher(target.url, {
    ...(target.credentials && target.auth !== 'anonymous' ? { auth: target.credentials } : {}),
  });
  const refOf = (repo: string, tag: string, set: ImageSet): SeededRef => {
    const m = set.manifests.find((x) => x.digest === set.tags[tag]);
    if (!m) throw new Error(`seed: ${repo}:${tag} not in its set`);
    return {
      repo,
      tag,
      ref: `${target.host}/${repo}:${tag}`,
      digest: sha256(m.bytes),
      mediaType: m.mediaType,
      bytes: m.bytes,
    };
  };
  const byPlatform = (images: Array<{ name: string; manifest: BuiltManifest }>): Record<string, Digest> =>
    Object.fromEntries(images.map((i) => [i.name, sha256(i.manifest.bytes)]));

  const sampleSet = await buildSampleImages('sample');
  await pusher.pushImageSet('sample', sampleSet);
  const sample = {
    ...refOf('sample', 'latest', sampleSet),
    set: sampleSet,
    platforms: byPlatform(sampleSet.images.map((i) => ({ name: i.platformName, manifest: i.manifest }))),
    attestation: sha256(sampleSet.attestation.manifest.bytes),
  };
  const single = refOf('sample', 'single', sampleSet);

  const [amd64, arm64] = await Promise.all(
    (['amd64', 'arm64'] as const).map((arch) => smallImage('nested', arch, 'oci')),
  );
  const inner = buildIndex({
    manifests: [amd64!, arm64!].map((i) => ({ manifest: i.image.manifest, platform: i.platform })),
  });
  const outer = buildIndex({
    manifests: [{ manifest: inner, annotations: { 'org.opencontainers.image.title': 'inner index' } }],
  });
  const nestedSet = createImageSet();
  for (const i of [amd64!, arm64!]) addImage(nestedSet, i.image);
  addManifest(nestedSet, inner);
  addManifest(nestedSet, outer, 'latest');
  await pusher.pushImageSet('nested', nestedSet);
  const nested = {
    ...refOf('nested', 'latest', nestedSet),
    inner: sha256(inner.bytes),
    platforms: byPlatform(
      [amd64!, arm64!].map((i) => ({ name: `linux/${i.platform.architecture}`, manifest: i.image.manifest })),
    ),
  };

  const docker = await Promise.all(
    (['amd64', 'arm64'] as const).map((arch) => smallImage('dockerlist', arch, 'docker')),
  );
  const list = buildIndex({
    mediaType: MediaType.DOCKER_LIST,
    manifests: docker.map((i) => ({ manifest: i.image.manifest, platform: i.platform })),
  });
  const dockerSet = createImageSet();
  for (const i of docker) addImage(dockerSet, i.image);
  addManifest(dockerSet, list, 'latest');
  await pusher.pushImageSet('dockerlist', dockerSet);
  const dockerList = {
    ...refOf('dockerlist', 'latest', dockerSet),
    platforms: byPlatform(
      docker.map((i) => ({ name: `linux/${i.platform.architecture}`, manifest: i.image.manifest })),
    ),
  };

  const zstdImage = await buildImage({
    platform: { architecture: 'amd64', os: 'linux' },
    compression: 'zstd',
    layers: [
      [
        { path: 'zstd', type: 'dir' },
        { path: 'zstd/hello.txt', content: 'hello from a zstd layer\n' },
      ],
    ],
    config: { cmd: ['/bin/true'] },
  });
  const zstdSet = createImageSet();
  addImage(zstdSet, zstdImage, 'latest');
  await pusher.pushImageSet('zstd', zstdSet);
  const zstdLayer = zstdImage.layers[0]!;
  const zstd = {
    ...refOf('zstd', 'latest', zstdSet),
    layer: { digest: sha256(zstdLayer.bytes), size: zstdLayer.bytes.byteLength },
  };

  const seeded: SeededImages = { sample, single, nested, dockerList, zstd };
  if (options.largeBlobBytes) seeded.large = await seedLarge(pusher, target.host, options.largeBlobBytes);
  return seeded;
}

/** A one-layer image named after its repo and architecture, so every seeded repo has its own digests. */
async function smallImage(
  repo: string,
  architecture: 'amd64' | 'arm64',
  format: 'oci' | 'docker',
): Promise<{ platform: { os: string; architecture: string }; image: BuiltImage }> {
  const platform = { os: 'linux', architecture };
  const image = await buildImage({
    platform,
    format,
    layers: [[{ path: 'hello.txt', content: `${repo} on linux/${architecture}\n` }]],
    config: { cmd: ['/bin/sh'], labels: { 'org.opencontainers.image.title': repo } },
  });
  return { platform, image };
}

/**
 * Deterministic pseudo-random bytes, streamed in 1 MiB chunks: AES-128-CTR over zeros with a
 * fixed key, so the same size always gives the same bytes without holding them in memory.
 */
export async function* largeBlobChunks(size: number): AsyncGenerator<Uint8Array> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = size; left > 0; left -= zeros.length) {
    yield cipher.update(zeros.subarray(0, Math.min(left, zeros.length)));
  }
}

async function seedLarge(
  pusher: RegistryPusher,
  host: string,
  size: number,
): Promise<NonNullable<SeededImages['large']>> {
  const hash = createHash('sha256');
  for await (const chunk of largeBlobChunks(size)) hash.update(chunk);
  const digest: Digest = `sha256:${hash.digest('hex')}`;
  await pusher.pushBlob('large', { digest, size, body: () => largeBlobChunks(size) });
  const config = jsonBlob({}, MediaType.OCI_EMPTY);
  const layer = { ...blobOf(new Uint8Array(), 'application/octet-stream'), digest, size };
  const manifest = buildManifest({
    config,
    layers: [layer],
    artifactType: 'application/vnd.imgdigest.test.large',
  });
  await pusher.pushBlob('large', { digest: config.digest, size: config.size, body: config.bytes });
  await pusher.pushManifest('large', 'latest', manifest);
  return {
    repo: 'large',
    tag: 'latest',
    ref: `${host}/large:latest`,
    digest: sha256(manifest.bytes),
    mediaType: manifest.mediaType,
    bytes: manifest.bytes,
    blob: { digest, size },
  };
}
