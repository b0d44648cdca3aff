/**
 * @module sources/copy/archive-destination
 * A `docker save` archive as a destination (`docker-archive:FILE[:REF]`): the tarball `docker load`
 * and `podman load` read, for moving an image where no registry reaches.
 *
 * The archive is written as Docker 25 and later write one: an OCI image layout (`oci-layout`,
 * `index.json`, `blobs/sha256/…`, so the manifest and its digest travel with the image) plus the
 * `manifest.json` older loaders read (`[{Config, RepoTags, Layers}]`, whose paths point into
 * `blobs/`). Layers are kept as the source has them (gzip or zstd as served: loaders decompress).
 *
 * An archive entry is one image for one platform: an index cannot be loaded, so a copy to an
 * archive names one platform (the CLI picks the host's when the source is an index and none is
 * given). The copy goes into a layout in a hidden folder beside FILE; `commit()` packs it into a
 * temporary file there and renames it over FILE, so FILE is either the whole archive or untouched.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import type { Digest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import { type Descriptor, parseManifest } from '../../core/manifest.js';
import { parseReference } from '../../core/reference.js';
import { OciLayoutWriter } from '../local/oci-layout-writer.js';
import { type ImageDestination, layoutDestination } from './destination.js';

/** File names that promise a compressed archive. */
const COMPRESSED_NAME = /\.(gz|tgz|bz2|tbz2?|xz|txz|zst|tzst)$/i;

/**
 * Refuse an archive path whose name says compressed: the archive is a plain tar, as `docker save`
 * writes it, and a `.tar.gz` holding one would mislead whoever reads the name (`INPUT_INVALID`).
 */
export function checkArchivePath(path: string): void {
  const suffix = COMPRESSED_NAME.exec(path)?.[0];
  if (suffix) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `docker-archive:${path}: the archive is an uncompressed tar (as docker save writes it), not ${suffix}; name it .tar and compress it afterwards if you need to (docker load reads gzip, bzip2, xz and zstd)`,
    );
  }
}

/**
 * `REF` of `docker-archive:FILE:REF` as `docker load` tags the image: `name:tag` (Docker's short
 * form for Docker Hub names), `latest` when no tag is given; a digest cannot be a RepoTag.
 */
export function archiveRepoTag(ref: string): string {
  const parsed = parseReference(ref);
  if (parsed.digest !== null && parsed.tag === null) {
    throw new ImgdigestError('USAGE', `"${ref}": a docker archive tags its image by NAME:TAG, not by digest`);
  }
  return `${parsed.familiarRepository}:${parsed.tag ?? 'latest'}`;
}

/** An image the archive lists: its manifest and the blobs it names (config first). */
interface ArchivedImage {
  manifest: Digest;
  config: Digest;
  layers: Digest[];
}

/** The files of the packed archive, in the order they are written. */
interface PackedFile {
  name: string;
  size: number;
  /** From the staging layout (blobs), or these bytes. */
  path?: string;
  bytes?: Buffer;
}

/**
 * A destination writing the archive `path`, its image tagged `ref` (`name[:tag]`) or untagged.
 * Nothing is left beside `path` when the copy fails (call `discard()`), and `path` is replaced
 * only when the whole archive is written.
 */
export async function archiveDestination(
  path: string,
  ref: string | undefined,
): Promise<ImageDestination & { discard(): Promise<void> }> {
  checkArchivePath(path);
  const repoTag = ref === undefined ? undefined : archiveRepoTag(ref);
  const folder = dirname(path);
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) {
    throw new ImgdigestError('INPUT_INVALID', `docker-archive:${path}: ${path} is a folder, not a file`);
  }
  const staging = await mkdtemp(join(folder, `.${basename(path)}.imgdigest-`)).catch((e: unknown) => {
    throw new ImgdigestError('WRITE_FAILED', `cannot write beside ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  });
  const writer = await OciLayoutWriter.open(join(staging, 'layout'));
  const layout = await layoutDestination(writer, undefined);
  const label = `docker-archive:${path}${ref === undefined ? '' : `:${ref}`}`;
  const images: ArchivedImage[] = [];
  const discard = () => rm(staging, { recursive: true, force: true });
  return {
    ...layout,
    kind: 'docker-archive',
    name: label,
    tag: undefined,
    format: (_tag, digest) => `${label}@${digest}`,
    tagDigest: async () => null,
    async putManifest(manifest, put) {
      // The bytes go into the staging layout; only the image itself becomes an archive entry.
      const answer = await layout.putManifest(manifest, { ...put, listed: false, tag: undefined });
      if (!put.listed && put.tag === undefined) return answer; // a manifest an index names
      const parsed = parseManifest(manifest.raw, { contentType: manifest.mediaType, source: label });
      if (parsed.kind !== 'manifest') {
        throw new ImgdigestError(
          'USAGE',
          `${label}: an archive holds one platform's image, and this is an index; choose one with --platform`,
        );
      }
      if (parsed.value.subject) {
        // Signatures, SBOMs and attestations have no place in a docker archive.
        throw new ImgdigestError(
          'USAGE',
          `${label}: a docker archive holds images, not referrers; copy them to a registry or an OCI layout`,
        );
      }
      const descriptor: Descriptor = {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.raw.byteLength,
      };
      // Listed in the archive's index.json with the tag as its `org.opencontainers.image.ref.name`.
      writer.add(descriptor, repoTag?.slice(repoTag.lastIndexOf(':') + 1));
      images.push({
        manifest: manifest.digest,
        config: parsed.value.config.digest,
        layers: parsed.value.layers.map((l) => l.digest),
      });
      return answer;
    },
    ensureReferrer: async () => false,
    async commit() {
      try {
        await writer.commit();
        await packArchive(path, staging, writer.dir, images, repoTag);
      } finally {
        await discard();
      }
    },
    discard,
  };
}

/** The archive's `manifest.json`, and every file to pack. */
async function archiveFiles(
  layoutDir: string,
  images: readonly ArchivedImage[],
  repoTag: string | undefined,
): Promise<PackedFile[]> {
  const blobPath = (digest: Digest) => join(layoutDir, 'blobs', ...digest.split(':'));
  const entryName = (digest: Digest) => `blobs/${digest.replace(':', '/')}`;
  const saved: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const blobs = new Set<Digest>();
  for (const { manifest, config, layers } of images) {
    saved.push({
      Config: entryName(config),
      RepoTags: repoTag ? [repoTag] : null,
      Layers: layers.map(entryName),
    });
    for (const d of [manifest, config, ...layers]) blobs.add(d);
  }
  const files: PackedFile[] = [];
  for (const digest of blobs) {
    const p = blobPath(digest);
    files.push({ name: entryName(digest), size: (await stat(p)).size, path: p });
  }
  for (const name of ['oci-layout', 'index.json']) {
    const bytes = await readFile(join(layoutDir, name));
    files.push({ name, size: bytes.byteLength, bytes });
  }
  const manifestJson = Buffer.from(JSON.stringify(saved));
  files.push({ name: 'manifest.json', size: manifestJson.byteLength, bytes: manifestJson });
  return files;
}

/** Pack the staged layout into `path` (a temporary file beside it, renamed over it). */
async function packArchive(
  path: string,
  staging: string,
  layoutDir: string,
  images: readonly ArchivedImage[],
  repoTag: string | undefined,
): Promise<void> {
  if (images.length === 0) {
    throw new ImgdigestError('INPUT_INVALID', `docker-archive:${path}: nothing was copied into it`);
  }
  const files = await archiveFiles(layoutDir, images, repoTag);
  const temp = join(staging, 'archive.tar');
  const tar = pack();
  const written = pipeline(tar, createWriteStream(temp));
  try {
    const mtime = new Date(0);
    for (const file of files) {
      const entry = tar.entry({ name: file.name, size: file.size, mode: 0o644, mtime });
      if (file.bytes) entry.end(file.bytes);
      else await pipeline(createReadStream(file.path!), entry);
    }
    tar.finalize();
    await written;
  } catch (e) {
    tar.destroy(e as Error);
    await written.catch(() => undefined);
    throw new ImgdigestError('WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
  await rename(temp, path).catch((e: unknown) => {
    throw new ImgdigestError('WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  });
}
