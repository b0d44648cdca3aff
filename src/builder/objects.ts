/**
 * @module builder/objects
 * Build OCI and Docker images in memory, without Docker: tar layers (gzip, zstd or plain), image
 * configs, manifests, indexes and buildx-style attestations. Used by the offline quick start and by
 * the tests, which push the result to a real registry or write it as an OCI image layout.
 *
 * Every object is deterministic: the same input gives the same bytes and so the same digest
 * (fixed tar mtimes and owners, a gzip header with no name and mtime 0, JSON with a fixed key order).
 * Gzip bytes come from Node's bundled zlib, so they are stable for a given Node build.
 */
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { type Digest, digestOf } from '../core/digest.js';
import { ImgdigestError } from '../core/errors.js';
import type { Descriptor, DescriptorPlatform } from '../core/manifest.js';
import { MediaType } from '../core/media-types.js';
import { encodeZstdRaw } from '../sources/layers/zstd.js';

/** Bytes with what a descriptor needs to point at them. */
export interface Blob {
  bytes: Uint8Array;
  digest: Digest;
  size: number;
  mediaType: string;
}

/** A layer blob, with the digest of its uncompressed tar (the config's `rootfs.diff_ids` entry). */
export interface Layer extends Blob {
  diffId: Digest;
}

/** A manifest or index; `artifactType` is repeated here so index entries can carry it. */
export interface BuiltManifest extends Blob {
  artifactType?: string;
}

/** A runnable image: its config, layers and manifest. */
export interface BuiltImage {
  config: Blob;
  layers: Layer[];
  manifest: BuiltManifest;
}

export type Compression = 'gzip' | 'zstd' | 'none';
/** `oci` uses OCI media types; `docker` uses Docker schema 2 (manifest list, image, config, layers). */
export type ImageFormat = 'oci' | 'docker';

/** One entry of a layer tar. Paths are written without a leading `/`. */
export interface FileSpec {
  path: string;
  content?: string | Uint8Array;
  /** Default `file` (or `symlink` when `linkname` is set). */
  type?: 'file' | 'dir' | 'symlink';
  linkname?: string;
  /** Default 0o644 for files, 0o755 for dirs, 0o777 for symlinks. */
  mode?: number;
  /** Default {@link BUILD_EPOCH}. */
  mtime?: Date;
}

/** The fixed time stamped on tar entries and configs unless a caller gives another. */
export const BUILD_EPOCH = new Date('2024-01-01T00:00:00Z');

/** The `pack` type of each entry type, as tar-stream names it. */
const TAR_TYPES = { file: 'file', dir: 'directory', symlink: 'symlink' } as const;

/** The uncompressed tar of `files`, in the order given. */
export async function buildTar(files: FileSpec[]): Promise<Uint8Array> {
  const tar = pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Uint8Array);
  })();
  for (const file of files) {
    const type = file.type ?? (file.linkname !== undefined ? 'symlink' : 'file');
    const name = file.path.replace(/^\/+/, '');
    if (name === '') throw new ImgdigestError('INPUT_INVALID', `layer entry has an empty path`);
    const header = {
      name: type === 'dir' && !name.endsWith('/') ? `${name}/` : name,
      type: TAR_TYPES[type],
      mode: file.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      mtime: file.mtime ?? BUILD_EPOCH,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      ...(type === 'symlink' ? { linkname: file.linkname ?? '' } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') tar.entry(header, file.content ?? '', cb);
      else tar.entry(header, cb);
    });
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The bytes of `data` compressed as a layer would be. */
export function compress(data: Uint8Array, compression: Compression): Uint8Array {
  switch (compression) {
    // zlib writes mtime 0 and no file name in the gzip header (RFC 1952 §2.3), so output is stable.
    case 'gzip':
      return gzipSync(data, { level: 9 });
    case 'zstd':
      return encodeZstdRaw(data);
    case 'none':
      return data;
  }
}

/** The layer media type for a compression in a format (Docker schema 2 has no zstd type; buildkit uses OCI's). */
export function layerMediaType(compression: Compression, format: ImageFormat = 'oci'): string {
  if (compression === 'zstd') return MediaType.OCI_LAYER_ZSTD;
  if (format === 'docker')
    return compression === 'gzip' ? MediaType.DOCKER_LAYER_GZIP : MediaType.DOCKER_LAYER;
  return compression === 'gzip' ? MediaType.OCI_LAYER_GZIP : MediaType.OCI_LAYER;
}

/**
 * A layer: a tar of `files`, compressed. `diffId` is the digest of the uncompressed tar.
 * @example const layer = await buildLayer([{ path: 'app/hello.txt', content: 'hi' }], { compression: 'gzip' });
 */
export async function buildLayer(
  files: FileSpec[],
  options: { compression: Compression; format?: ImageFormat; mediaType?: string },
): Promise<Layer> {
  const tar = await buildTar(files);
  const bytes = compress(tar, options.compression);
  const mediaType = options.mediaType ?? layerMediaType(options.compression, options.format);
  return { ...blobOf(bytes, mediaType), diffId: digestOf(tar) };
}

/** A blob of any bytes with a media type. */
export function blobOf(bytes: Uint8Array, mediaType: string): Blob {
  return { bytes, digest: digestOf(bytes), size: bytes.byteLength, mediaType };
}

/** A blob of compact JSON. Key order is the insertion order of `value`, so callers fix it. */
export function jsonBlob(value: unknown, mediaType: string): Blob {
  return blobOf(Buffer.from(JSON.stringify(value), 'utf8'), mediaType);
}

/** The descriptor that points at a blob or manifest. */
export function descriptorFor(
  blob: Blob & { artifactType?: string },
  extra: { platform?: DescriptorPlatform; annotations?: Record<string, string> } = {},
): Descriptor {
  const d: Descriptor = { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
  if (blob.artifactType) d.artifactType = blob.artifactType;
  if (extra.platform) d.platform = canonicalPlatform(extra.platform);
  if (extra.annotations) d.annotations = sorted(extra.annotations);
  return d;
}

/** A platform object with keys in the image-spec's order, optional fields only when set. */
function canonicalPlatform(p: DescriptorPlatform): DescriptorPlatform {
  const out: DescriptorPlatform = { architecture: p.architecture, os: p.os };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = [...p['os.features']];
  if (p.variant) out.variant = p.variant;
  if (p.features?.length) out.features = [...p.features];
  return out;
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface ConfigSpec {
  os: string;
  architecture: string;
  variant?: string;
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  /** Port specs such as `8080/tcp`. */
  exposedPorts?: string[];
  labels?: Record<string, string>;
  /** Default {@link BUILD_EPOCH}. */
  created?: Date;
  diffIds: Digest[];
  /** Default the OCI config type; pass `MediaType.DOCKER_CONFIG` for schema 2 images. */
  mediaType?: string;
}

/**
 * An image config with a fixed key order.
 * @see https://github.com/opencontainers/image-spec/blob/main/config.md
 */
export function buildConfig(spec: ConfigSpec): Blob {
  const created = (spec.created ?? BUILD_EPOCH).toISOString().replace('.000Z', 'Z');
  const config: Record<string, unknown> = {};
  if (spec.env) config.Env = [...spec.env];
  if (spec.entrypoint) config.Entrypoint = [...spec.entrypoint];
  if (spec.cmd) config.Cmd = [...spec.cmd];
  if (spec.workingDir) config.WorkingDir = spec.workingDir;
  if (spec.exposedPorts?.length) {
    config.ExposedPorts = Object.fromEntries([...spec.exposedPorts].sort().map((p) => [p, {}]));
  }
  if (spec.labels) config.Labels = sorted(spec.labels);
  const value: Record<string, unknown> = { created, architecture: spec.architecture, os: spec.os };
  if (spec.variant) value.variant = spec.variant;
  value.config = config;
  value.rootfs = { type: 'layers', diff_ids: [...spec.diffIds] };
  value.history = spec.diffIds.map((_, i) => ({ created, created_by: `imgdigest builder: layer ${i + 1}` }));
  return jsonBlob(value, spec.mediaType ?? MediaType.OCI_CONFIG);
}

export interface ManifestSpec {
  config: Blob;
  layers: Blob[];
  /** Default the OCI image manifest type. */
  mediaType?: string;
  annotations?: Record<string, string>;
  subject?: Descriptor;
  artifactType?: string;
}

/**
 * An image manifest: schemaVersion, mediaType, config, layers, then the optional fields.
 * @see https://github.com/opencontainers/image-spec/blob/main/manifest.md
 */
export function buildManifest(spec: ManifestSpec): BuiltManifest {
  const mediaType = spec.mediaType ?? MediaType.OCI_MANIFEST;
  const value: Record<string, unknown> = { schemaVersion: 2, mediaType };
  if (spec.artifactType) value.artifactType = spec.artifactType;
  value.config = descriptorFor(spec.config);
  value.layers = spec.layers.map((l) => descriptorFor(l));
  if (spec.subject) value.subject = spec.subject;
  if (spec.annotations) value.annotations = sorted(spec.annotations);
  const blob = jsonBlob(value, mediaType);
  return spec.artifactType ? { ...blob, artifactType: spec.artifactType } : blob;
}

/** One entry of an index: a manifest (or nested index) and how the index describes it. */
export interface IndexEntry {
  manifest: BuiltManifest;
  platform?: DescriptorPlatform;
  annotations?: Record<string, string>;
}

export interface IndexSpec {
  manifests: IndexEntry[];
  /** Default the OCI index type; `MediaType.DOCKER_LIST` for a schema 2 manifest list. */
  mediaType?: string;
  annotations?: Record<string, string>;
  subject?: Descriptor;
  artifactType?: string;
}

/**
 * An image index or Docker manifest list.
 * @see https://github.com/opencontainers/image-spec/blob/main/image-index.md
 */
export function buildIndex(spec: IndexSpec): BuiltManifest {
  const mediaType = spec.mediaType ?? MediaType.OCI_INDEX;
  const value: Record<string, unknown> = { schemaVersion: 2, mediaType };
  if (spec.artifactType) value.artifactType = spec.artifactType;
  value.manifests = spec.manifests.map((e) => descriptorFor(e.manifest, e));
  if (spec.subject) value.subject = spec.subject;
  if (spec.annotations) value.annotations = sorted(spec.annotations);
  const blob = jsonBlob(value, mediaType);
  return spec.artifactType ? { ...blob, artifactType: spec.artifactType } : blob;
}

/** The annotations buildx puts on an attestation entry of an index. */
export const ATTESTATION_ANNOTATIONS = {
  type: 'vnd.docker.reference.type',
  digest: 'vnd.docker.reference.digest',
} as const;

/**
 * A buildx-style attestation manifest for the image `forManifestDigest`: an OCI manifest whose one
 * layer is an in-toto statement, meant to sit in the index as `unknown/unknown` with the
 * `vnd.docker.reference.*` annotations. `entry` is ready to pass to {@link buildIndex}.
 */
export function buildAttestation(
  forManifestDigest: Digest,
  options: { subjectName?: string } = {},
): BuiltImage & { entry: IndexEntry } {
  const statement = jsonBlob(
    {
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [
        {
          name: options.subjectName ?? 'pkg:docker/imgdigest/sample',
          digest: { sha256: forManifestDigest.slice(forManifestDigest.indexOf(':') + 1) },
        },
      ],
      predicate: { builder: { id: 'imgdigest-builder' }, buildType: 'https://mobyproject.org/buildkit@v1' },
    },
    MediaType.IN_TOTO,
  );
  const layer: Layer = { ...statement, diffId: statement.digest };
  const config = buildConfig({ os: 'unknown', architecture: 'unknown', diffIds: [layer.diffId] });
  const manifest = buildManifest({ config, layers: [layer] });
  // The predicate type annotation is what buildx writes on the layer descriptor; the manifest
  // itself only needs to be findable through the index annotations.
  return {
    config,
    layers: [layer],
    manifest,
    entry: {
      manifest,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: {
        [ATTESTATION_ANNOTATIONS.digest]: forManifestDigest,
        [ATTESTATION_ANNOTATIONS.type]: 'attestation-manifest',
      },
    },
  };
}

/** What to build one runnable image from. */
export interface ImageSpec {
  platform: DescriptorPlatform;
  /** Each element is one layer: a file list to build, or a layer built before (shared base layers). */
  layers: Array<FileSpec[] | Layer>;
  compression?: Compression;
  format?: ImageFormat;
  config?: Omit<ConfigSpec, 'os' | 'architecture' | 'variant' | 'diffIds' | 'mediaType'>;
  annotations?: Record<string, string>;
}

/** Build the layers, config and manifest of one image. */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? 'oci';
  const compression = spec.compression ?? 'gzip';
  const layers: Layer[] = [];
  for (const l of spec.layers) {
    layers.push(Array.isArray(l) ? await buildLayer(l, { compression, format }) : l);
  }
  const config = buildConfig({
    ...spec.config,
    os: spec.platform.os,
    architecture: spec.platform.architecture,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    diffIds: layers.map((l) => l.diffId),
    mediaType: format === 'docker' ? MediaType.DOCKER_CONFIG : MediaType.OCI_CONFIG,
  });
  const manifest = buildManifest({
    config,
    layers,
    mediaType: format === 'docker' ? MediaType.DOCKER_MANIFEST : MediaType.OCI_MANIFEST,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  return { config, layers, manifest };
}
