/**
 * @module builder/samples
 * The sample images the offline quick start and the tests use: a multi-platform OCI index
 * (linux/amd64, linux/arm64, linux/arm/v7) with a buildx-style attestation entry, and a
 * single-platform image. Built in memory and deterministic, so their digests never change for a
 * given name (and Node build).
 */
import type { DescriptorPlatform } from '../core/manifest.js';
import { addBlob, addImage, addManifest, createImageSet, type ImageSet } from './image-set.js';
import {
  BUILD_EPOCH,
  type BuiltImage,
  type BuiltManifest,
  buildArtifact,
  buildAttestation,
  buildImage,
  buildIndex,
  buildLayer,
  type FileSpec,
  type Layer,
} from './objects.js';

/** The platforms of the sample index, in index order. */
export const SAMPLE_PLATFORMS: readonly DescriptorPlatform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux' },
  { architecture: 'arm', os: 'linux', variant: 'v7' },
];

/** The version {@link buildSampleImages} builds by default. */
export const SAMPLE_VERSION = '1.0';

/** The tags {@link buildSampleImages} sets for {@link SAMPLE_VERSION}, and what each names. */
export const SAMPLE_TAGS = {
  /** The multi-platform index. */
  index: ['latest', '1.0'],
  /** The single-platform (linux/amd64) image manifest. */
  single: ['single'],
} as const;

export interface SamplePlatformImage extends BuiltImage {
  platform: DescriptorPlatform;
  /** `linux/arm/v7` and so on. */
  platformName: string;
}

/** The sample images plus handles on each part (all of it is also in the {@link ImageSet}). */
export interface SampleImages extends ImageSet {
  name: string;
  index: BuiltManifest;
  /** One runnable image per platform, in index order. */
  images: SamplePlatformImage[];
  /** The attestation manifest that describes the linux/amd64 image. */
  attestation: BuiltImage;
  /** The single-platform (linux/amd64) image; in the set only for {@link SAMPLE_VERSION}. */
  single: BuiltImage;
  /** The base layer every sample image shares (so pushes can skip it after the first). */
  baseLayer: Layer;
}

function platformName(p: DescriptorPlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** A small root filesystem: an os-release file, a directory and a symlink. */
function baseFiles(name: string): FileSpec[] {
  return [
    { path: 'etc', type: 'dir' },
    {
      path: 'etc/os-release',
      content: `NAME="imgdigest sample"\nID=imgdigest-sample\nVERSION_ID=1.0\nPRETTY_NAME="imgdigest ${name} 1.0"\n`,
    },
    { path: 'usr', type: 'dir' },
    { path: 'usr/bin', type: 'dir' },
    { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
  ];
}

/** The application layer, with text that names the platform so each platform's layer differs. */
function appFiles(name: string, platform: string): FileSpec[] {
  return [
    { path: 'app', type: 'dir' },
    { path: 'app/hello.txt', content: `hello from ${name} on ${platform}\n` },
    { path: 'app/run.sh', content: '#!/bin/sh\ncat /app/hello.txt\n', mode: 0o755 },
    { path: 'app/current', type: 'symlink', linkname: 'hello.txt' },
  ];
}

function configFor(name: string, platform: string, version: string) {
  return {
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `SAMPLE_PLATFORM=${platform}`],
    entrypoint: ['/bin/sh'],
    cmd: ['/app/run.sh'],
    workingDir: '/app',
    exposedPorts: ['8080/tcp'],
    labels: {
      'org.opencontainers.image.title': name,
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.source': 'https://example.invalid/imgdigest/sample',
    },
  };
}

export interface SampleOptions {
  /**
   * The version in the labels, the index annotation and the attestation subject (default
   * {@link SAMPLE_VERSION}). Another version is another index with other digests over the same
   * files; its set tags only the index, as `version`, and holds no single-platform image.
   */
  version?: string;
}

/**
 * Build the sample set for a repository `name` (default `sample`; the name goes into file text
 * and labels, so two names give two different sets of digests).
 *
 * Tags: `latest` and `1.0` name the index, `single` names the single-platform image.
 * @example
 * const set = await buildSampleImages();
 * await pushImageSet(new RegistryClient({ anonymous: true }), '127.0.0.1:5000/sample', set);
 */
export async function buildSampleImages(name = 'sample', options: SampleOptions = {}): Promise<SampleImages> {
  const version = options.version ?? SAMPLE_VERSION;
  const isDefault = version === SAMPLE_VERSION;
  const set = createImageSet();
  const baseLayer = await buildLayer(baseFiles(name), { compression: 'gzip' });
  const images: SamplePlatformImage[] = [];
  for (const platform of SAMPLE_PLATFORMS) {
    const pname = platformName(platform);
    const image = await buildImage({
      platform,
      layers: [baseLayer, appFiles(name, pname)],
      config: configFor(name, pname, version),
    });
    addImage(set, image);
    images.push({ ...image, platform, platformName: pname });
  }
  const amd64 = images[0]!;
  const attestation = buildAttestation(amd64.manifest.digest, {
    subjectName: `pkg:docker/${name}@${version}`,
  });
  addImage(set, attestation);
  const index = buildIndex({
    manifests: [...images.map((i) => ({ manifest: i.manifest, platform: i.platform })), attestation.entry],
    annotations: { 'org.opencontainers.image.title': name, 'org.opencontainers.image.version': version },
  });
  addManifest(set, index, ...(isDefault ? SAMPLE_TAGS.index : [version]));

  const single = await buildImage({
    platform: { architecture: 'amd64', os: 'linux' },
    layers: [baseLayer, appFiles(name, 'single platform')],
    config: configFor(name, 'linux/amd64', version),
  });
  if (isDefault) addImage(set, single, ...SAMPLE_TAGS.single);
  addBlob(set, baseLayer);
  return { ...set, name, index, images, attestation, single, baseLayer };
}

/** The artifact type of an SPDX SBOM (the media type of SPDX JSON documents). */
export const SPDX_JSON = 'application/spdx+json';

/**
 * An SPDX 2.3 SBOM of the image `subject` of the sample `name`, as an OCI 1.1 artifact that names
 * the image as its subject (what `oras attach --artifact-type application/spdx+json` pushes): the
 * referrers of the image list it. Deterministic, created at {@link BUILD_EPOCH}.
 */
export function buildSampleSbom(subject: BuiltManifest, name: string, version = SAMPLE_VERSION): BuiltImage {
  const created = BUILD_EPOCH.toISOString().replace('.000Z', 'Z');
  const hex = subject.digest.slice(subject.digest.indexOf(':') + 1);
  const document = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${name}@${version}`,
    documentNamespace: `https://example.invalid/imgdigest/sample/${name}/sha256-${hex}`,
    creationInfo: { created, creators: ['Tool: imgdigest-builder'] },
    packages: [
      {
        name,
        SPDXID: 'SPDXRef-Package-image',
        versionInfo: version,
        downloadLocation: 'NOASSERTION',
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: `pkg:oci/${name}@sha256%3A${hex}`,
          },
        ],
      },
    ],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-Package-image',
      },
    ],
  };
  return buildArtifact({
    artifactType: SPDX_JSON,
    subject,
    files: [
      { name: 'sbom.spdx.json', mediaType: SPDX_JSON, content: `${JSON.stringify(document, null, 2)}\n` },
    ],
    annotations: { 'org.opencontainers.image.created': created },
  });
}
