/**
 * @module media-types
 * The media types of OCI and Docker images, and what each one is.
 * @see https://github.com/opencontainers/image-spec/blob/main/media-types.md
 */

export const MediaType = {
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  OCI_EMPTY: 'application/vnd.oci.empty.v1+json',
  OCI_LAYOUT_HEADER: 'application/vnd.oci.layout.header.v1+json',
  OCI_DESCRIPTOR: 'application/vnd.oci.descriptor.v1+json',
  OCI_LAYER: 'application/vnd.oci.image.layer.v1.tar',
  OCI_LAYER_GZIP: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCI_LAYER_ZSTD: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OCI_LAYER_ND: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OCI_LAYER_ND_GZIP: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OCI_LAYER_ND_ZSTD: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  DOCKER_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_CONFIG: 'application/vnd.docker.container.image.v1+json',
  DOCKER_LAYER_GZIP: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DOCKER_LAYER: 'application/vnd.docker.image.rootfs.diff.tar',
  DOCKER_FOREIGN_LAYER_GZIP: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DOCKER_PLUGIN_CONFIG: 'application/vnd.docker.plugin.v1+json',
  DOCKER_SCHEMA1: 'application/vnd.docker.distribution.manifest.v1+json',
  DOCKER_SCHEMA1_SIGNED: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  IN_TOTO: 'application/vnd.in-toto+json',
} as const;

/** Index-like types: a list of manifests. */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OCI_INDEX, MediaType.DOCKER_LIST];
/** Image manifest types: a config and layers. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST];
/** Schema 1: recognised so it can be refused with a clear message. */
export const SCHEMA1_MEDIA_TYPES: readonly string[] = [
  MediaType.DOCKER_SCHEMA1,
  MediaType.DOCKER_SCHEMA1_SIGNED,
];

/**
 * The Accept list for manifest requests. Listing the index types matters: Docker Hub answers a
 * HEAD without them with the linux/amd64 manifest's digest instead of the index's.
 */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaType.OCI_INDEX,
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_LIST,
  MediaType.DOCKER_MANIFEST,
];

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}

export function isImageManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_MEDIA_TYPES.includes(mediaType);
}

export function isSchema1MediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && SCHEMA1_MEDIA_TYPES.includes(mediaType);
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** How a layer blob is compressed, from its media type; null when it is not a tar layer. */
export function layerCompression(mediaType: string): LayerCompression | null {
  switch (mediaType) {
    case MediaType.OCI_LAYER_GZIP:
    case MediaType.OCI_LAYER_ND_GZIP:
    case MediaType.DOCKER_LAYER_GZIP:
    case MediaType.DOCKER_FOREIGN_LAYER_GZIP:
      return 'gzip';
    case MediaType.OCI_LAYER_ZSTD:
    case MediaType.OCI_LAYER_ND_ZSTD:
      return 'zstd';
    case MediaType.OCI_LAYER:
    case MediaType.OCI_LAYER_ND:
    case MediaType.DOCKER_LAYER:
      return 'none';
    default:
      return null;
  }
}

/** Non-distributable and foreign layers: never fetched from a registry by default. */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType.includes('nondistributable') || mediaType === MediaType.DOCKER_FOREIGN_LAYER_GZIP;
}

/** RFC 6838 media type shape used by the OCI descriptor schema. */
export const MEDIA_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/**
 * Annotation keys this package reads or writes.
 * @see https://github.com/opencontainers/image-spec/blob/main/annotations.md
 */
export const Annotation = {
  /** The tag (or full `repo:tag`, as containerd and buildkit write it) of an OCI layout entry. */
  REF_NAME: 'org.opencontainers.image.ref.name',
  /** The full image name containerd puts on an index.json entry of `docker save` / `ctr export`. */
  CONTAINERD_IMAGE_NAME: 'io.containerd.image.name',
} as const;
