/**
 * @module sources/local/oci-layout
 * `oci:DIR[:TAG]`: an OCI image layout as a source. The layout is checked (`oci-layout` with an
 * `imageLayoutVersion`, `index.json`), tags are the `org.opencontainers.image.ref.name` annotations
 * of `index.json`, and every manifest and blob read is verified against its digest, because a
 * layout is just files anyone can edit.
 *
 * The same reader serves the OCI layout that newer `docker save` writes inside its tarball: it reads
 * through a {@link LayoutStore}, which is a directory here and tar entries in `docker-archive`.
 * @see https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { type Digest, parseDigest, verifyingStream } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import {
  type Descriptor,
  descriptorOf,
  MAX_MANIFEST_BYTES,
  type ParsedIndex,
  type ParsedManifest,
  parseManifest,
} from '../../core/manifest.js';
import { Annotation } from '../../core/media-types.js';
import { fileError } from '../file-error.js';
import type { BlobReader, ImageSource, SourceKind } from '../source.js';

/** Where the files of a layout live: a directory, or the entries of a tar file. */
export interface LayoutStore {
  /** For messages: `oci:/path/to/layout`, `docker-archive:img.tar`. */
  readonly label: string;
  /** At most `maxBytes + 1` bytes of a file (so callers can tell "too large"), or null if missing. */
  read(relative: string, maxBytes: number): Promise<Uint8Array | null>;
  /** A file as a stream with its size, or null if missing. */
  stream(relative: string): Promise<{ stream: Readable; size: number } | null>;
}

/**
 * Wrap local bytes in a {@link BlobReader} whose stream fails before its end unless they hash to
 * `digest` (and have `size` bytes): local files are as untrusted as a registry.
 */
export function verifiedReader(
  stream: Readable,
  digest: Digest,
  size: number | null,
  what: string,
): BlobReader {
  const verifier = verifyingStream(digest, { ...(size === null ? {} : { size }), what });
  // pipeline() forwards a read error of the file to the verifier, so the consumer sees it.
  pipeline(stream, verifier, () => {});
  return { digest, size, stream: verifier };
}

/** The relative path of a blob: `blobs/<algorithm>/<encoded>` (the digest is validated first). */
export function blobPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `blobs/${algorithm}/${encoded}`;
}

function layoutInvalid(label: string, why: string): ImgdigestError {
  return new ImgdigestError('INPUT_INVALID', `${label} is not an OCI image layout: ${why}`, {
    details: { layout: label },
  });
}

/** Read and check `oci-layout` and `index.json`. */
async function readLayoutIndex(store: LayoutStore): Promise<ParsedIndex> {
  const header = await store.read('oci-layout', 64 * 1024);
  if (!header) throw layoutInvalid(store.label, 'it has no oci-layout file');
  let version: unknown;
  try {
    version = (JSON.parse(Buffer.from(header).toString('utf8')) as { imageLayoutVersion?: unknown })
      .imageLayoutVersion;
  } catch {
    throw layoutInvalid(store.label, 'its oci-layout file is not JSON');
  }
  if (typeof version !== 'string') throw layoutInvalid(store.label, 'oci-layout has no imageLayoutVersion');
  if (!version.startsWith('1.')) {
    throw layoutInvalid(
      store.label,
      `imageLayoutVersion ${JSON.stringify(version)} is not supported (1.x is)`,
    );
  }
  const raw = await store.read('index.json', MAX_MANIFEST_BYTES);
  if (!raw) throw layoutInvalid(store.label, 'it has no index.json');
  const index = parseManifest(raw, { source: `${store.label}/index.json` });
  if (index.kind !== 'index') throw layoutInvalid(store.label, 'index.json is not an image index');
  return index;
}

/** The tag an `index.json` entry carries, if any. */
function refName(d: Descriptor): string | undefined {
  return d.annotations?.[Annotation.REF_NAME];
}

/**
 * A tag names the entries whose ref.name is the tag. Some tools (containerd, buildkit) write a full
 * reference there; `oci:DIR:3.19` then also matches `docker.io/library/alpine:3.19`.
 */
function entriesForTag(entries: Descriptor[], tag: string): Descriptor[] {
  const exact = entries.filter((d) => refName(d) === tag);
  if (exact.length > 0) return exact;
  return entries.filter((d) => {
    const name = refName(d);
    return name?.includes('/') && name.endsWith(`:${tag}`);
  });
}

function looksLikeDigest(identifier: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(identifier);
}

export interface LayoutSourceOptions {
  kind?: SourceKind;
  /** Name shown to people; defaults to the store's label. */
  name?: string;
}

/** An OCI image layout read through a {@link LayoutStore}. */
export class OciLayoutSource implements ImageSource {
  readonly kind: SourceKind;
  readonly name: string;
  readonly identifier: string;

  constructor(
    private readonly store: LayoutStore,
    private readonly index: ParsedIndex,
    tag: string | undefined,
    options: LayoutSourceOptions = {},
  ) {
    this.kind = options.kind ?? 'oci-layout';
    this.name = options.name ?? store.label;
    const entries = index.value.manifests;
    const only = entries.length === 1 ? entries[0] : undefined;
    // Without a tag, the layout's only image (as skopeo does); several images need a tag.
    this.identifier = tag ?? (only ? (refName(only) ?? only.digest) : '');
  }

  /** The tags of `index.json`, sorted and unique. */
  async tags(): Promise<string[]> {
    const names = this.index.value.manifests.map(refName).filter((n): n is string => n !== undefined);
    return [...new Set(names)].sort();
  }

  /** The `index.json` entry `identifier` names (a tag, or a digest listed there). */
  async head(identifier?: string): Promise<Descriptor> {
    const id = identifier ?? this.identifier;
    if (looksLikeDigest(id)) {
      const listed = this.index.value.manifests.find((d) => d.digest === id);
      return listed ?? descriptorOf(await this.manifest(id));
    }
    return this.entryForTag(id);
  }

  private async entryForTag(tag: string): Promise<Descriptor> {
    const entries = this.index.value.manifests;
    const tags = (await this.tags()).join(', ') || 'none';
    if (tag === '') {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${this.name} holds ${entries.length} images; name one as ${this.name}:TAG (tags: ${tags})`,
        { details: { layout: this.name, tags: await this.tags() } },
      );
    }
    const found = entriesForTag(entries, tag);
    if (found.length === 0) {
      throw new ImgdigestError('NOT_FOUND', `${this.name} has no tag "${tag}" (tags: ${tags})`, {
        details: { layout: this.name, tag, tags: await this.tags() },
      });
    }
    if (found.length > 1) {
      throw new ImgdigestError(
        'SOURCE_ERROR',
        `${this.name}: tag "${tag}" names ${found.length} entries in index.json (${found.map((d) => d.digest).join(', ')})`,
        { details: { layout: this.name, tag } },
      );
    }
    return found[0]!;
  }

  /** The manifest or index `identifier` names, verified against its digest (and size when listed). */
  async manifest(identifier?: string): Promise<ParsedManifest> {
    const id = identifier ?? this.identifier;
    const descriptor = looksLikeDigest(id)
      ? this.index.value.manifests.find((d) => d.digest === id)
      : await this.entryForTag(id);
    const digest = (descriptor?.digest ?? id) as Digest;
    const path = blobPath(digest);
    const raw = await this.store.read(path, MAX_MANIFEST_BYTES);
    if (!raw) {
      throw new ImgdigestError('NOT_FOUND', `${this.name} has no manifest ${digest} (${path} is missing)`, {
        details: { layout: this.name, digest },
      });
    }
    const parsed = parseManifest(raw, {
      ...(descriptor ? { contentType: descriptor.mediaType } : {}),
      expectedDigest: digest,
      source: `${this.name}/${path}`,
    });
    if (descriptor && descriptor.size !== parsed.size) {
      throw new ImgdigestError(
        'SIZE_MISMATCH',
        `${this.name}/${path} is ${parsed.size} bytes but index.json says ${descriptor.size}`,
        { details: { expected: descriptor.size, actual: parsed.size } },
      );
    }
    return parsed;
  }

  /** A blob, streamed and verified: the stream fails before its end if the bytes are wrong. */
  async blob(descriptor: { digest: Digest; size?: number }): Promise<BlobReader> {
    const path = blobPath(descriptor.digest);
    const found = await this.store.stream(path);
    if (!found) {
      throw new ImgdigestError(
        'NOT_FOUND',
        `${this.name} has no blob ${descriptor.digest} (${path} is missing)`,
        {
          details: { layout: this.name, digest: descriptor.digest },
        },
      );
    }
    return verifiedReader(
      found.stream,
      descriptor.digest,
      descriptor.size ?? found.size,
      `${this.name}/${path}`,
    );
  }

  /** The layout's `index.json` as parsed (its digest is of the file's bytes). */
  layoutIndex(): ParsedIndex {
    return this.index;
  }
}

/** Open a layout through any store (a directory, tar entries). */
export async function openLayoutStore(
  store: LayoutStore,
  tag?: string,
  options: LayoutSourceOptions = {},
): Promise<OciLayoutSource> {
  return new OciLayoutSource(store, await readLayoutIndex(store), tag, options);
}

/** A file opened for reading, or null when it does not exist. */
async function openIfExists(file: string): Promise<FileHandle | null> {
  try {
    return await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileError(e, file);
  }
}

/** A directory as a {@link LayoutStore}. */
function directoryStore(dir: string): LayoutStore {
  const label = `oci:${dir}`;
  return {
    label,
    async read(relative, maxBytes) {
      const file = join(dir, relative);
      const fh = await openIfExists(file);
      if (!fh) return null;
      try {
        const buf = Buffer.alloc(Math.min(maxBytes + 1, (await fh.stat()).size));
        let done = 0;
        while (done < buf.length) {
          const { bytesRead } = await fh.read(buf, done, buf.length - done, done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buf.subarray(0, done);
      } catch (e) {
        throw fileError(e, file);
      } finally {
        await fh.close();
      }
    },
    async stream(relative) {
      const fh = await openIfExists(join(dir, relative));
      if (!fh) return null;
      const size = (await fh.stat()).size;
      return { stream: fh.createReadStream(), size };
    },
  };
}

/**
 * Open `oci:DIR[:TAG]`. Without a tag the layout must hold exactly one image; otherwise `head()`
 * and `manifest()` fail with the list of tags (and `tags()` still works).
 *
 * @throws `NOT_FOUND` (no such directory), `INPUT_INVALID` (not a directory, not a layout)
 * @example
 * const src = await openOciLayout('./layout', 'v1');
 * (await src.head()).digest // the digest index.json records for tag v1
 */
export async function openOciLayout(dir: string, tag?: string): Promise<ImageSource> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `oci:${dir}: ${dir} is not a directory (an OCI layout is one)`,
        {
          details: { path: dir },
        },
      );
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ImgdigestError('NOT_FOUND', `oci:${dir}: no such directory`, { details: { path: dir } });
    }
    throw fileError(e, dir);
  }
  return openLayoutStore(directoryStore(dir), tag);
}
