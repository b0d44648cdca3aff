/**
 * @module sources/local/docker-archive
 * `docker-archive:FILE[:REF]`: a `docker save` tarball (uncompressed or gzip) as a source, read by
 * offset through {@link openTar} so a multi-GiB archive is never loaded.
 *
 * What an archive can and cannot say:
 * - It holds the image config and the layers as Docker stores them (uncompressed tars whose digests
 *   are the config's `diff_ids`), plus `manifest.json` ([{Config, RepoTags, Layers}]).
 * - It does NOT hold the manifest a registry serves, so the registry digest is not in it. `head()`
 *   therefore returns the CONFIG descriptor: its digest is the image ID, the one identity the
 *   archive really has. `manifest()` synthesises a Docker v2 manifest from the config and the layers
 *   as stored (honest media types: uncompressed layers are `...rootfs.diff.tar`); its digest is
 *   not a registry digest. `facts().notes` says so for the CLI to show.
 * - Newer Docker (25+) also writes an OCI layout (`index.json`, `blobs/`) inside the tarball. Its
 *   manifests are read and verified too (`manifest(digest)`, blobs), and listed in the notes; an
 *   archive with an OCI layout but no `manifest.json` is read as that layout.
 */
import { type Digest, digestOf, digestOfStream, isDigest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import {
  type Descriptor,
  descriptorOf,
  type ParsedManifest,
  parseImageConfig,
  parseManifest,
} from '../../core/manifest.js';
import { Annotation, MediaType } from '../../core/media-types.js';
import { parseReference } from '../../core/reference.js';
import type { TarArchive } from '../layers/tar-entries.js';
import { openTar } from '../layers/tar-open.js';
import type { BlobReader, ImageSource, SourceFacts } from '../source.js';
import { type LayoutStore, type OciLayoutSource, openLayoutStore, verifiedReader } from './oci-layout.js';

/** Configs are small JSON documents; a larger "config" is refused rather than buffered. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_MANIFEST_JSON_BYTES = 16 * 1024 * 1024;
const CONTENT_ADDRESSED = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/;

/** One entry of `manifest.json`. */
interface SavedImage {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** What the archive knows about one image, worked out once. */
interface ArchiveImage {
  index: number;
  saved: SavedImage;
  config: Descriptor;
  manifest: ParsedManifest;
  /** digest -> tar entry, for the config and layers. */
  entries: Map<string, string>;
}

/** The tar entries of an archive as a {@link LayoutStore} (for the OCI layout inside). */
function tarStore(tar: TarArchive, label: string): LayoutStore {
  return {
    label,
    async read(relative, maxBytes) {
      const entry = tar.find(relative);
      if (entry?.type !== 'file') return null;
      return entry.size > maxBytes ? tar.head(relative, maxBytes + 1) : tar.read(relative, maxBytes);
    },
    async stream(relative) {
      const entry = tar.find(relative);
      if (entry?.type !== 'file') return null;
      return { stream: await tar.stream(relative), size: entry.size };
    },
  };
}

function parseSavedImages(raw: Buffer, label: string): SavedImage[] {
  const invalid = (why: string) =>
    new ImgdigestError('INPUT_INVALID', `${label}: manifest.json is not a docker save manifest: ${why}`, {
      details: { archive: label },
    });
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  if (!Array.isArray(json)) throw invalid('expected an array');
  return json.map((item: unknown, i) => {
    const o = item as Partial<Record<keyof SavedImage, unknown>> | null;
    if (typeof o?.Config !== 'string') throw invalid(`[${i}].Config must be a string`);
    if (!Array.isArray(o.Layers) || !o.Layers.every((l) => typeof l === 'string')) {
      throw invalid(`[${i}].Layers must be an array of strings`);
    }
    const tags = Array.isArray(o.RepoTags)
      ? o.RepoTags.filter((t): t is string => typeof t === 'string')
      : [];
    return { Config: o.Config, RepoTags: tags, Layers: o.Layers as string[] };
  });
}

/** `nginx` and `docker.io/library/nginx:latest` name the same image. */
function sameName(a: string, b: string): boolean {
  try {
    const x = parseReference(a);
    const y = parseReference(b);
    return x.repository === y.repository && (x.tag ?? 'latest') === (y.tag ?? 'latest');
  } catch {
    return a === b;
  }
}

function compressionOf(magic: Buffer): 'gzip' | 'zstd' | 'none' {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.length >= 4 && magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

const LAYER_MEDIA_TYPE = {
  none: MediaType.DOCKER_LAYER,
  gzip: MediaType.DOCKER_LAYER_GZIP,
  zstd: MediaType.OCI_LAYER_ZSTD,
} as const;

export interface DockerArchiveOptions {
  /** Name shown to people (the daemon passes `docker-daemon:NAME`). */
  name?: string;
  /** Called by `close()` after the archive is released (the daemon removes its temporary export). */
  onClose?: () => Promise<void>;
}

/** A `docker save` archive. */
export class DockerArchiveSource implements ImageSource {
  readonly kind = 'docker-archive' as const;
  readonly identifier: string;
  private readonly images = new Map<number, Promise<ArchiveImage>>();

  constructor(
    readonly name: string,
    private readonly tar: TarArchive,
    private readonly saved: SavedImage[],
    private readonly oci: OciLayoutSource | undefined,
    ref: string | undefined,
    private readonly onClose: () => Promise<void>,
  ) {
    const only = saved.length === 1 ? saved[0] : undefined;
    this.identifier = ref ?? (only ? (only.RepoTags[0] ?? '@0') : '');
  }

  /** Which `manifest.json` entry a REF names: `@N`, or a name matched against RepoTags. */
  private select(ref: string): number {
    const all = this.saved.flatMap((s) => s.RepoTags);
    const listing = all.length > 0 ? all.join(', ') : `${this.saved.length} untagged`;
    if (ref === '') {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${this.name} holds ${this.saved.length} images; name one as ${this.name}:REF (${listing}) or :@N`,
        { details: { archive: this.name, repoTags: all } },
      );
    }
    const at = /^@(\d+)$/.exec(ref);
    if (at) {
      const n = Number(at[1]);
      if (n < this.saved.length) return n;
      throw new ImgdigestError(
        'NOT_FOUND',
        `${this.name} has no image @${n} (it holds ${this.saved.length})`,
        {
          details: { archive: this.name },
        },
      );
    }
    const i = this.saved.findIndex((s) => s.RepoTags.some((t) => sameName(t, ref)));
    if (i >= 0) return i;
    throw new ImgdigestError('NOT_FOUND', `${this.name} has no image named "${ref}" (it holds ${listing})`, {
      details: { archive: this.name, ref, repoTags: all },
    });
  }

  private image(n: number): Promise<ArchiveImage> {
    let p = this.images.get(n);
    if (!p) {
      p = this.load(n);
      this.images.set(n, p);
      p.catch(() => this.images.delete(n));
    }
    return p;
  }

  /** Read the config, work out each layer's digest and media type, synthesise the manifest. */
  private async load(n: number): Promise<ArchiveImage> {
    const saved = this.saved[n]!;
    const configBytes = await this.tar.read(saved.Config, MAX_CONFIG_BYTES);
    const imageId = digestOf(configBytes);
    this.checkNamedDigest(saved.Config, imageId);
    const diffIds = parseImageConfig(configBytes, `${this.name}/${saved.Config}`).rootfs?.diff_ids ?? [];
    const config: Descriptor = {
      mediaType: MediaType.DOCKER_CONFIG,
      digest: imageId,
      size: configBytes.length,
    };
    const entries = new Map<string, string>([[imageId, saved.Config]]);
    const layers: Descriptor[] = [];
    for (const [i, path] of saved.Layers.entries()) {
      const entry = this.tar.find(path);
      if (!entry) {
        throw new ImgdigestError(
          'SOURCE_ERROR',
          `${this.name}: manifest.json names layer "${path}", which is not in the archive`,
          {
            details: { archive: this.name, layer: path },
          },
        );
      }
      const compression = compressionOf(await this.tar.head(path, 8));
      const digest = await this.layerDigest(path, compression, diffIds[i]);
      entries.set(digest, path);
      layers.push({ mediaType: LAYER_MEDIA_TYPE[compression], digest, size: entry.size });
    }
    const raw = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DOCKER_MANIFEST, config, layers }),
    );
    const manifest = parseManifest(raw, { source: `${this.name} (synthesised)` });
    return { index: n, saved, config, manifest, entries };
  }

  /**
   * A layer's digest without reading it when the archive already says it: a `blobs/<alg>/<hex>`
   * path is content-addressed, and an uncompressed layer's digest is its diff ID. Blob reads verify
   * both. A compressed layer under any other name has to be hashed.
   */
  private async layerDigest(path: string, compression: string, diffId: string | undefined): Promise<Digest> {
    const named = CONTENT_ADDRESSED.exec(this.tar.find(path)?.name ?? '');
    if (named) return `${named[1]}:${named[2]}` as Digest;
    if (compression === 'none' && diffId) return diffId as Digest;
    return (await digestOfStream(await this.tar.stream(path))).digest;
  }

  /** A config stored as `<hex>.json` or `blobs/sha256/<hex>` must hash to its name. */
  private checkNamedDigest(path: string, actual: Digest): void {
    const m = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(this.tar.find(path)?.name ?? path);
    if (m && `sha256:${m[1]}` !== actual) {
      throw new ImgdigestError(
        'DIGEST_MISMATCH',
        `${this.name}: config ${path} does not match its name (its digest is ${actual})`,
        { details: { expected: `sha256:${m[1]}`, actual } },
      );
    }
  }

  private async imageFor(identifier: string | undefined): Promise<ArchiveImage> {
    return this.image(this.select(identifier ?? this.identifier));
  }

  /** The image whose synthesised manifest or config (image ID) has `digest`, if any. */
  private async imageByDigest(digest: string): Promise<ArchiveImage | undefined> {
    for (let n = 0; n < this.saved.length; n++) {
      const image = await this.image(n);
      if (image.manifest.digest === digest || image.config.digest === digest) return image;
    }
    return undefined;
  }

  /**
   * The CONFIG descriptor of the image (its digest is the image ID): an archive has no registry
   * manifest, so this is the identity it can vouch for. A digest identifier may name a synthesised
   * manifest, an image ID, or a manifest of the OCI layout inside.
   */
  async head(identifier?: string): Promise<Descriptor> {
    if (identifier !== undefined && isDigest(identifier)) {
      const image = await this.imageByDigest(identifier);
      if (image) return image.manifest.digest === identifier ? descriptorOf(image.manifest) : image.config;
      if (this.oci) return this.oci.head(identifier);
      throw this.noDigest(identifier);
    }
    return (await this.imageFor(identifier)).config;
  }

  /** The synthesised Docker v2 manifest (or, by digest, a manifest of the OCI layout inside). */
  async manifest(identifier?: string): Promise<ParsedManifest> {
    if (identifier !== undefined && isDigest(identifier)) {
      const image = await this.imageByDigest(identifier);
      if (image?.manifest.digest === identifier) return image.manifest;
      if (this.oci) return this.oci.manifest(identifier);
      throw this.noDigest(identifier);
    }
    return (await this.imageFor(identifier)).manifest;
  }

  private noDigest(digest: string): ImgdigestError {
    return new ImgdigestError('NOT_FOUND', `${this.name} has no manifest ${digest}`, {
      details: { archive: this.name, digest },
    });
  }

  /** A config or layer of the selected image, or any blob of the OCI layout inside; verified. */
  async blob(descriptor: { digest: Digest; size?: number }): Promise<BlobReader> {
    const image = await this.imageFor(undefined).catch(() => undefined);
    const path = image?.entries.get(descriptor.digest) ?? (await this.findEntry(descriptor.digest));
    if (path === undefined) {
      if (this.oci) return this.oci.blob(descriptor);
      throw new ImgdigestError('NOT_FOUND', `${this.name} has no blob ${descriptor.digest}`, {
        details: { archive: this.name, digest: descriptor.digest },
      });
    }
    const size = descriptor.size ?? this.tar.find(path)?.size ?? null;
    return verifiedReader(await this.tar.stream(path), descriptor.digest, size, `${this.name}/${path}`);
  }

  private async findEntry(digest: string): Promise<string | undefined> {
    for (let n = 0; n < this.saved.length; n++) {
      const path = (await this.image(n)).entries.get(digest);
      if (path !== undefined) return path;
    }
    return undefined;
  }

  /** Every RepoTag in the archive, sorted. */
  async tags(): Promise<string[]> {
    return [...new Set(this.saved.flatMap((s) => s.RepoTags))].sort();
  }

  /** Image ID, RepoTags, and what the archive cannot tell. */
  async facts(): Promise<SourceFacts> {
    const image = await this.imageFor(undefined);
    const notes = [
      `${this.name} is a docker save archive: it records the image ID (the config digest, ${image.config.digest}) but not the digest of a registry manifest`,
      `its manifest is synthesised from the config and the layers as stored in the archive, so ${image.manifest.digest} is not a registry digest`,
    ];
    const repoDigests: string[] = [];
    for (const d of this.oci?.layoutIndex().value.manifests ?? []) {
      const name = d.annotations?.[Annotation.CONTAINERD_IMAGE_NAME];
      notes.push(
        `the OCI index.json inside names ${name ?? d.annotations?.[Annotation.REF_NAME] ?? 'an image'} -> ${d.digest} (a registry digest only when saved from a containerd image store)`,
      );
      if (name?.includes('@')) repoDigests.push(name);
    }
    return {
      imageId: image.config.digest,
      repoTags: image.saved.RepoTags,
      ...(repoDigests.length > 0 ? { repoDigests } : {}),
      notes,
    };
  }

  async close(): Promise<void> {
    await this.tar.close();
    await this.onClose();
  }
}

/**
 * Open `docker-archive:FILE[:REF]`. REF is a name from RepoTags (`app:v1`, normalised as Docker
 * does) or `@N` (the Nth image); without it the archive must hold one image.
 *
 * @throws `NOT_FOUND` (no file), `INPUT_INVALID` (not a tar, not a docker save archive),
 *   `SOURCE_ERROR` (truncated, corrupt)
 * @example
 * const src = await openDockerArchive('app.tar', 'app:v1');
 * (await src.head()).digest // the image ID
 */
export async function openDockerArchive(
  file: string,
  ref?: string,
  options: DockerArchiveOptions = {},
): Promise<ImageSource> {
  const name = options.name ?? `docker-archive:${file}`;
  const onClose = options.onClose ?? (async () => {});
  let tar: TarArchive;
  try {
    tar = await openTar(file);
  } catch (e) {
    await onClose();
    throw e;
  }
  try {
    const store = tarStore(tar, name);
    const hasLayout = tar.find('oci-layout') !== undefined && tar.find('index.json') !== undefined;
    const oci = hasLayout
      ? await openLayoutStore(store, undefined, { kind: 'docker-archive', name })
      : undefined;
    if (tar.find('manifest.json') === undefined) {
      if (oci) {
        const source = await openLayoutStore(store, ref, { kind: 'docker-archive', name });
        return Object.assign(source, { close: () => tar.close().then(onClose) });
      }
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${file} is not a docker save archive: it has no manifest.json (nor an OCI index.json)`,
        { details: { path: file } },
      );
    }
    const saved = parseSavedImages(await tar.read('manifest.json', MAX_MANIFEST_JSON_BYTES), name);
    if (saved.length === 0) {
      throw new ImgdigestError('INPUT_INVALID', `${name}: manifest.json lists no images`, {
        details: { path: file },
      });
    }
    return new DockerArchiveSource(name, tar, saved, oci, ref, onClose);
  } catch (e) {
    await tar.close();
    await onClose();
    throw e;
  }
}
