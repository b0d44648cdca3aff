/**
 * @module test/support/images
 * Seed a real registry with the images the tests need: the sample multi-platform index (with an
 * attestation) and single-platform image, a nested index (index -> index -> manifests), a Docker
 * schema 2 manifest list, an image with a zstd layer and, on request, a large blob (slow, opt-in).
 *
 * The images are built in memory by `src/builder` and copied into the CNCF registry by skopeo, not
 * by imgdigest's registry client, so the client's own tests run against images it did not push.
 * Each image goes through skopeo's `dir:` format (one directory per tag, written once per test
 * file): skopeo 1.9's `oci:` transport skips index entries with Docker media types, so a layout
 * could not carry the schema 2 list. skopeo cannot copy an index whose entry is itself an index
 * ("Unexpectedly received a manifest list instead of a manifest for a single image"): the inner
 * index goes through skopeo, and the outer one, a single manifest, is written into the registry's
 * storage folder the way the registry itself stores a pushed manifest.
 *
 * Expected digests are computed here from the exact bytes, with node:crypto, not taken from the
 * builder, so a test that compares against them checks the builder too.
 *
 * The embedded registry is filled through its storage API instead (`loadImageSet` in
 * `src/registry-server/load.ts`).
 */
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
  pushImageSet,
  type SampleImages,
} from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { MediaType } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import type { Distribution } from './distribution.js';
import { sha256 } from './sha256.js';
import { tempDir } from './tmp.js';

const execFileAsync = promisify(execFile);

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

/** A registry to seed: a started {@link Distribution} (its storage folder is written for one manifest). */
export type SeedTarget = Pick<Distribution, 'host' | 'registryUrl' | 'auth' | 'credentials' | 'storageDir'>;

/** The seeded sets, built once per test file (the builder is deterministic). */
interface SeedSets {
  sample: SampleImages;
  nested: { set: ImageSet; inner: BuiltManifest; outer: BuiltManifest; images: SmallImage[] };
  dockerList: { set: ImageSet; images: SmallImage[] };
  zstd: { set: ImageSet; image: BuiltImage };
}

let seedSets: Promise<SeedSets> | undefined;

async function buildSeedSets(): Promise<SeedSets> {
  const sample = await buildSampleImages('sample');

  const nestedImages = await Promise.all(
    (['amd64', 'arm64'] as const).map((arch) => smallImage('nested', arch, 'oci')),
  );
  const inner = buildIndex({
    manifests: nestedImages.map((i) => ({ manifest: i.image.manifest, platform: i.platform })),
  });
  const outer = buildIndex({
    manifests: [{ manifest: inner, annotations: { 'org.opencontainers.image.title': 'inner index' } }],
  });
  const nestedSet = createImageSet();
  for (const i of nestedImages) addImage(nestedSet, i.image);
  addManifest(nestedSet, inner);
  addManifest(nestedSet, outer, 'latest');

  const dockerImages = await Promise.all(
    (['amd64', 'arm64'] as const).map((arch) => smallImage('dockerlist', arch, 'docker')),
  );
  const list = buildIndex({
    mediaType: MediaType.DOCKER_LIST,
    manifests: dockerImages.map((i) => ({ manifest: i.image.manifest, platform: i.platform })),
  });
  const dockerSet = createImageSet();
  for (const i of dockerImages) addImage(dockerSet, i.image);
  addManifest(dockerSet, list, 'latest');

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

  return {
    sample,
    nested: { set: nestedSet, inner, outer, images: nestedImages },
    dockerList: { set: dockerSet, images: dockerImages },
    zstd: { set: zstdSet, image: zstdImage },
  };
}

/** Copy everything into `target` and return what was pushed, with independently computed digests. */
export async function seedRegistry(target: SeedTarget, options: SeedOptions = {}): Promise<SeededImages> {
  seedSets ??= buildSeedSets();
  const sets = await seedSets;
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
  const smallByPlatform = (images: SmallImage[]) =>
    byPlatform(images.map((i) => ({ name: `linux/${i.platform.architecture}`, manifest: i.image.manifest })));

  // One repository per task, side by side; the tags of one repository in turn.
  await Promise.all([
    copyTags(target, 'sample', sets.sample),
    (async () => {
      await skopeoCopy(
        target,
        sets.nested.set,
        sets.nested.inner.digest,
        `nested@${sets.nested.inner.digest}`,
      );
      await storeInDistribution(target, 'nested', sets.nested.outer, 'latest');
    })(),
    copyTags(target, 'dockerlist', sets.dockerList.set),
    copyTags(target, 'zstd', sets.zstd.set),
  ]);

  const sampleSet = sets.sample;
  const sample = {
    ...refOf('sample', 'latest', sampleSet),
    set: sampleSet,
    platforms: byPlatform(sampleSet.images.map((i) => ({ name: i.platformName, manifest: i.manifest }))),
    attestation: sha256(sampleSet.attestation.manifest.bytes),
  };
  const single = refOf('sample', 'single', sampleSet);
  const nested = {
    ...refOf('nested', 'latest', sets.nested.set),
    inner: sha256(sets.nested.inner.bytes),
    platforms: smallByPlatform(sets.nested.images),
  };
  const dockerList = {
    ...refOf('dockerlist', 'latest', sets.dockerList.set),
    platforms: smallByPlatform(sets.dockerList.images),
  };
  const zstdLayer = sets.zstd.image.layers[0]!;
  const zstd = {
    ...refOf('zstd', 'latest', sets.zstd.set),
    layer: { digest: sha256(zstdLayer.bytes), size: zstdLayer.bytes.byteLength },
  };

  const seeded: SeededImages = { sample, single, nested, dockerList, zstd };
  if (options.largeBlobBytes) seeded.large = await seedLarge(target, options.largeBlobBytes);
  return seeded;
}

/** `host:port` of the registry itself: seeding bypasses the counting proxy. */
function registryHost(target: SeedTarget): string {
  return new URL(target.registryUrl).host;
}

/**
 * Copy every tag of `set` into `repo`, one skopeo call per tag, in turn: two copies into one
 * repository at once race in the CNCF registry ("manifest blob unknown", 500 on a blob check).
 */
async function copyTags(target: SeedTarget, repo: string, set: ImageSet): Promise<void> {
  for (const [tag, digest] of Object.entries(set.tags))
    await skopeoCopy(target, set, digest, `${repo}:${tag}`);
}

/** `skopeo copy --all --preserve-digests` of the image `top` names in `set` to `dest` (`repo:tag` or `repo@digest`). */
async function skopeoCopy(target: SeedTarget, set: ImageSet, top: Digest, dest: string): Promise<void> {
  const { username, password } = target.credentials;
  const creds = target.auth === 'anonymous' ? [] : ['--dest-creds', `${username}:${password}`];
  const args = ['copy', '--all', '--preserve-digests', '--quiet', '--dest-tls-verify=false', ...creds];
  const from = `dir:${await skopeoDir(set, top)}`;
  try {
    await execFileAsync('skopeo', [...args, from, `docker://${registryHost(target)}/${dest}`]);
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`seed: skopeo copy ${from} to ${dest} failed: ${stderr || (e as Error).message}`);
  }
}

const skopeoDirs = new Map<Digest, string>();

/**
 * The image `top` names as a skopeo `dir:` directory: `manifest.json` (the top manifest), every
 * other manifest of the set as `<hex>.manifest.json` (what `--all` reads for an index's entries),
 * every blob as `<hex>`. Written once per test file and reused while it exists.
 */
async function skopeoDir(set: ImageSet, top: Digest): Promise<string> {
  const cached = skopeoDirs.get(top);
  if (cached && existsSync(join(cached, 'manifest.json'))) return cached;
  const dir = await tempDir('seed-dir');
  const hex = (d: Digest) => d.slice(d.indexOf(':') + 1);
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  for (const [digest, bytes] of set.blobs) await writeFile(join(dir, hex(digest)), bytes);
  for (const m of set.manifests) {
    if (m.digest !== top) await writeFile(join(dir, `${hex(m.digest)}.manifest.json`), m.bytes);
  }
  const topManifest = set.manifests.find((m) => m.digest === top);
  if (!topManifest) throw new Error(`seed: ${top} is not in its set`);
  await writeFile(join(dir, 'manifest.json'), topManifest.bytes);
  skopeoDirs.set(top, dir);
  return dir;
}

/**
 * Put one manifest (whose children the registry holds already) into a CNCF registry's storage
 * folder and tag it, as the registry lays out a pushed manifest: the bytes as a blob, a revision
 * link in the repository, the tag's current link and its index entry.
 */
async function storeInDistribution(
  target: SeedTarget,
  repo: string,
  manifest: BuiltManifest,
  tag: string,
): Promise<void> {
  const digest = sha256(manifest.bytes);
  const hex = digest.slice('sha256:'.length);
  const v2 = join(target.storageDir, 'docker', 'registry', 'v2');
  const put = async (path: string, bytes: Uint8Array | string) => {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
  };
  const manifests = join(v2, 'repositories', repo, '_manifests');
  await put(join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'), manifest.bytes);
  await put(join(manifests, 'revisions', 'sha256', hex, 'link'), digest);
  await put(join(manifests, 'tags', tag, 'index', 'sha256', hex, 'link'), digest);
  await put(join(manifests, 'tags', tag, 'current', 'link'), digest);
}

interface SmallImage {
  platform: { os: string; architecture: string };
  image: BuiltImage;
}

/** A one-layer image named after its repo and architecture, so every seeded repo has its own digests. */
async function smallImage(
  repo: string,
  architecture: 'amd64' | 'arm64',
  format: 'oci' | 'docker',
): Promise<SmallImage> {
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

/**
 * The large artifact, streamed in by the registry client's `pushBlob` (skopeo would need the bytes
 * on disk first). Only tests of other parts (the CLI, this support) ask for it.
 */
async function seedLarge(target: SeedTarget, size: number): Promise<NonNullable<SeededImages['large']>> {
  const hash = createHash('sha256');
  for await (const chunk of largeBlobChunks(size)) hash.update(chunk);
  const digest: Digest = `sha256:${hash.digest('hex')}`;
  const config = jsonBlob({}, MediaType.OCI_EMPTY);
  const layer = { ...blobOf(new Uint8Array(), 'application/octet-stream'), digest, size };
  const manifest = buildManifest({
    config,
    layers: [layer],
    artifactType: 'application/vnd.imgdigest.test.large',
  });
  const client = new RegistryClient(
    target.auth === 'anonymous' ? { anonymous: true } : { credentials: target.credentials },
  );
  try {
    const repo = parseReference(`${registryHost(target)}/large`);
    await client.pushBlob(repo, { digest, size, open: () => largeBlobChunks(size) });
    await client.pushBlob(repo, config.bytes);
    await client.pushManifest(repo.withTag('latest').withDigest(manifest.digest), manifest.bytes);
  } finally {
    await client.close();
  }
  return {
    repo: 'large',
    tag: 'latest',
    ref: `${target.host}/large:latest`,
    digest: sha256(manifest.bytes),
    mediaType: manifest.mediaType,
    bytes: manifest.bytes,
    blob: { digest, size },
  };
}

/**
 * Push `set` to `host/repo` with imgdigest's own registry client, for tests of other parts (CLI,
 * webhook, engine sources) where the client is not what is under test. Anonymous unless
 * `credentials` are given: a developer's own config files are never read.
 */
export async function pushWithClient(
  host: string,
  repo: string,
  set: ImageSet,
  credentials?: { username: string; password: string },
): Promise<void> {
  const client = new RegistryClient(credentials ? { credentials } : { anonymous: true });
  try {
    await pushImageSet(client, `${host}/${repo}`, set);
  } finally {
    await client.close();
  }
}
