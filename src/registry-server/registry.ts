/**
 * @module registry-server/registry
 * The rules of the embedded registry, independent of HTTP: which blobs and manifests a repository
 * holds, what a manifest PUT must reference, tags, referrers and the catalog.
 *
 * Repository links are loaded from storage once per repository and then served from memory, so a
 * manifest HEAD is a map lookup (the benchmark compares its rate with the CNCF registry). Every
 * change is written to storage first and applied to memory only when the write succeeded, under a
 * per-repository lock, so memory and disk agree even when two clients push the same tag at once.
 */
import { LRUCache } from 'lru-cache';
import type { Digest } from '../core/digest.js';
import { isImgdigestError } from '../core/errors.js';
import { artifactTypeOf, type Descriptor, type ParsedManifest, parseManifest } from '../core/manifest.js';
import { MediaType, SCHEMA1_MEDIA_TYPES } from '../core/media-types.js';
import { registryError } from './errors.js';
import type { RepoName } from './names.js';
import type { ByteRange, ManifestMeta, RepositoryRecord, Storage } from './storage.js';

/** Result of a manifest PUT. */
export interface PutManifestResult {
  digest: Digest;
  subject?: Digest;
  tags: string[];
}

export class Registry {
  private readonly repos = new Map<string, Promise<RepositoryRecord | null>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly manifestBytes = new LRUCache<Digest, Buffer>({
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (b) => Math.max(1, b.byteLength),
  });
  private known: Promise<Set<string>> | undefined;

  constructor(readonly storage: Storage) {}

  /** The repository's links, loaded once; null when the repository has never held anything. */
  repository(name: RepoName): Promise<RepositoryRecord | null> {
    let loaded = this.repos.get(name);
    if (!loaded) {
      const pending = this.storage.loadRepository(name);
      loaded = pending;
      this.repos.set(name, pending);
      // Unknown names are not remembered (a scan of random names must not grow memory), nor failures.
      pending.then(
        (record) => {
          if (record === null && this.repos.get(name) === pending) this.repos.delete(name);
        },
        () => this.repos.delete(name),
      );
    }
    return loaded;
  }

  private async ensure(name: RepoName): Promise<RepositoryRecord> {
    const existing = await this.repository(name);
    if (existing) return existing;
    const created: RepositoryRecord = { blobs: new Set(), manifests: new Map(), tags: new Map() };
    this.repos.set(name, Promise.resolve(created));
    (await this.knownNames()).add(name);
    return created;
  }

  /** Run `fn` alone for this repository (changes of links are read-modify-write). */
  private async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  // --- blobs ---------------------------------------------------------------------------------

  /** The size of a blob linked into the repository, or null. */
  async blobSize(name: RepoName, digest: Digest): Promise<number | null> {
    const repo = await this.repository(name);
    if (!repo?.blobs.has(digest)) return null;
    return this.storage.blobSize(digest);
  }

  readBlob(digest: Digest, range?: ByteRange) {
    return this.storage.readBlob(digest, range);
  }

  /** Make a stored blob visible in a repository. */
  async linkBlob(name: RepoName, digest: Digest): Promise<void> {
    await this.exclusive(name, async () => {
      const repo = await this.ensure(name);
      if (repo.blobs.has(digest)) return;
      await this.storage.linkBlob(name, digest);
      repo.blobs.add(digest);
    });
  }

  /** Cross-repository mount: true when `from` holds the blob and it is now linked into `name`. */
  async mountBlob(name: RepoName, from: RepoName, digest: Digest): Promise<boolean> {
    if ((await this.blobSize(from, digest)) === null) return false;
    await this.linkBlob(name, digest);
    return true;
  }

  /** Unlink a blob from a repository (the bytes stay for other repositories). */
  async deleteBlob(name: RepoName, digest: Digest): Promise<void> {
    await this.exclusive(name, async () => {
      const repo = await this.repository(name);
      if (!repo?.blobs.has(digest)) throw registryError('BLOB_UNKNOWN', { detail: digest });
      await this.storage.unlinkBlob(name, digest);
      repo.blobs.delete(digest);
    });
  }

  // --- manifests -----------------------------------------------------------------------------

  /** The metadata of a manifest named by tag or digest, or null. */
  async manifestMeta(name: RepoName, reference: string, isDigest: boolean): Promise<ManifestMeta | null> {
    const repo = await this.repository(name);
    if (!repo) return null;
    const digest = isDigest ? (reference as Digest) : repo.tags.get(reference);
    return digest ? (repo.manifests.get(digest) ?? null) : null;
  }

  async manifestBody(meta: ManifestMeta): Promise<Buffer> {
    const cached = this.manifestBytes.get(meta.digest);
    if (cached) return cached;
    const bytes = await this.storage.readBlobBytes(meta.digest);
    this.manifestBytes.set(meta.digest, bytes);
    return bytes;
  }

  /**
   * Store a manifest after checking it: pushed as a manifest media type that the document agrees
   * with, valid JSON of a known shape (MANIFEST_INVALID), the digest
   * in the URL matches the bytes (DIGEST_INVALID), and every config and layer is a blob of this
   * repository and every index child a manifest of it (MANIFEST_BLOB_UNKNOWN, one error per missing
   * digest, as distribution answers). A `subject` may point anywhere (distribution-spec: MUST accept).
   */
  async putManifest(
    name: RepoName,
    reference: { digest?: Digest; tags: string[] },
    bytes: Buffer,
    contentType: string | undefined,
  ): Promise<PutManifestResult> {
    const parsed = this.parse(bytes, contentType, reference.digest);
    return this.exclusive(name, async () => {
      const repo = await this.repository(name);
      const missing = referencedDigests(parsed).filter((d) =>
        parsed.kind === 'index' ? !repo?.manifests.has(d) : !repo?.blobs.has(d),
      );
      if (missing.length > 0) {
        const [first, ...rest] = missing;
        throw registryError('MANIFEST_BLOB_UNKNOWN', {
          detail: first,
          more: rest.map((d) => ({ code: 'MANIFEST_BLOB_UNKNOWN' as const, detail: d })),
        });
      }
      const meta = metaOf(parsed, manifestMediaType(contentType));
      await this.storage.putBlobBytes(parsed.digest, bytes);
      const target = await this.ensure(name);
      if (!target.manifests.has(parsed.digest)) {
        await this.storage.putManifestMeta(name, meta);
        target.manifests.set(parsed.digest, meta);
      }
      for (const tag of reference.tags) {
        await this.storage.putTag(name, tag, parsed.digest);
        target.tags.set(tag, parsed.digest);
      }
      this.manifestBytes.set(parsed.digest, bytes);
      return { digest: parsed.digest, subject: meta.subject, tags: reference.tags };
    });
  }

  private parse(bytes: Buffer, contentType: string | undefined, expected?: Digest): ParsedManifest {
    const declared = manifestMediaType(contentType);
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(bytes, { contentType: declared, expectedDigest: expected });
    } catch (error) {
      if (!isImgdigestError(error)) throw error;
      if (error.code === 'DIGEST_MISMATCH') {
        throw registryError('DIGEST_INVALID', { message: error.message, detail: error.details });
      }
      throw registryError('MANIFEST_INVALID', { message: error.message });
    }
    checkAgreement(parsed, declared);
    return parsed;
  }

  /**
   * Delete by digest (the revision and every tag that points to it, as distribution does) or by tag
   * (only the tag; distribution-spec end-9 allows both).
   */
  async deleteManifest(name: RepoName, reference: string, isDigest: boolean): Promise<void> {
    await this.exclusive(name, async () => {
      const repo = await this.repository(name);
      const digest = isDigest ? (reference as Digest) : repo?.tags.get(reference);
      if (!repo || !digest || !repo.manifests.has(digest)) {
        throw registryError('MANIFEST_UNKNOWN', { detail: isDigest ? { digest } : { tag: reference } });
      }
      if (!isDigest) {
        await this.storage.deleteTag(name, reference);
        repo.tags.delete(reference);
        return;
      }
      for (const [tag, target] of repo.tags) {
        if (target !== digest) continue;
        await this.storage.deleteTag(name, tag);
        repo.tags.delete(tag);
      }
      await this.storage.deleteManifestMeta(name, digest);
      repo.manifests.delete(digest);
    });
  }

  /** Tags of a repository, sorted by code unit as Go's sort.Strings does; null for an unknown repository. */
  async tags(name: RepoName): Promise<string[] | null> {
    const repo = await this.repository(name);
    if (!repo) return null;
    return [...repo.tags.keys()].sort(compareStrings);
  }

  /** Descriptors of the manifests whose subject is `digest`, optionally of one artifactType. */
  async referrers(name: RepoName, digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    const repo = await this.repository(name);
    const found: Descriptor[] = [];
    for (const meta of repo?.manifests.values() ?? []) {
      if (meta.subject !== digest) continue;
      if (artifactType !== undefined && meta.artifactType !== artifactType) continue;
      const d: Descriptor = { mediaType: meta.mediaType, digest: meta.digest, size: meta.size };
      if (meta.artifactType) d.artifactType = meta.artifactType;
      if (meta.annotations) d.annotations = meta.annotations;
      found.push(d);
    }
    return found.sort((a, b) => compareStrings(a.digest, b.digest));
  }

  private knownNames(): Promise<Set<string>> {
    this.known ??= this.storage.listRepositories().then((names) => new Set(names));
    return this.known;
  }

  /** Every repository holding something, sorted. */
  async catalog(): Promise<string[]> {
    const names = [...(await this.knownNames())].sort(compareStrings);
    const kept: string[] = [];
    for (const name of names) {
      const repo = await this.repository(name as RepoName);
      if (repo && (repo.blobs.size > 0 || repo.manifests.size > 0)) kept.push(name);
    }
    return kept;
  }
}

function referencedDigests(parsed: ParsedManifest): Digest[] {
  if (parsed.kind === 'index') return parsed.value.manifests.map((d) => d.digest);
  const layers = parsed.value.layers.filter((l) => !isServedElsewhere(l));
  return [parsed.value.config.digest, ...layers.map((l) => l.digest)];
}

/** The layer media types whose bytes may live outside the registry (image-spec, Docker v2.2). */
const FOREIGN_LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaType.OCI_LAYER_ND,
  MediaType.OCI_LAYER_ND_GZIP,
  MediaType.OCI_LAYER_ND_ZSTD,
  MediaType.DOCKER_FOREIGN_LAYER_GZIP,
]);

/**
 * Whether a layer's bytes are fetched from its `urls` instead of this registry, so a manifest may
 * name it without the blob being pushed: only a non-distributable (foreign) layer type, and only
 * when every entry of `urls` is an absolute http(s) URL without a fragment (distribution's test).
 * Any other layer with `urls` must still be here, as distribution 3 checks (2.8 skipped the check
 * for any layer with `urls`, whatever its type).
 */
export function isServedElsewhere(layer: Descriptor): boolean {
  const urls = layer.urls;
  return (
    FOREIGN_LAYER_TYPES.has(layer.mediaType) &&
    Array.isArray(urls) &&
    urls.length > 0 &&
    urls.every(isHttpUrl)
  );
}

function isHttpUrl(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hash === '' && !text.includes('#');
  } catch {
    return false;
  }
}

/**
 * The media types a manifest may be pushed and served as: OCI image manifest and index, Docker
 * schema 2 manifest and manifest list. Not the OCI 1.1 release candidates' artifact manifest
 * (`application/vnd.oci.artifact.manifest.v1+json`): image-spec 1.1.0 dropped it for image
 * manifests with an `artifactType`, distribution refuses it, and clients no longer push it.
 */
export const MANIFEST_TYPES: readonly string[] = [
  MediaType.OCI_MANIFEST,
  MediaType.OCI_INDEX,
  MediaType.DOCKER_MANIFEST,
  MediaType.DOCKER_LIST,
];

/**
 * The pushed Content-Type as a manifest media type (parameters dropped, lower case, as
 * distribution's `mime.ParseMediaType` does), or MANIFEST_INVALID. Serving what a client declared
 * is what the spec asks, so anything else (text/html, a missing type) would be stored to be served
 * back under the registry's origin: refused, as distribution does.
 */
function manifestMediaType(contentType: string | undefined): string {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (MANIFEST_TYPES.includes(type)) return type;
  if (SCHEMA1_MEDIA_TYPES.includes(type)) {
    throw registryError('MANIFEST_INVALID', {
      message: `Docker schema 1 manifests (${type}) are deprecated and not accepted; push the image again with a current client`,
    });
  }
  throw registryError('MANIFEST_INVALID', {
    message: `${type === '' ? 'a manifest PUT without a Content-Type' : `Content-Type "${type.slice(0, 100)}"`} is not accepted: push a manifest as one of ${MANIFEST_TYPES.join(', ')}`,
    detail: { contentType: type.slice(0, 100) },
  });
}

/**
 * The document must be what its Content-Type says (the image-spec's fix for ambiguous documents,
 * GHSA-mc8v-mgrf-8f4m, which distribution enforces): a `mediaType` field equal to the declared type
 * (required for Docker types, whose schema has it), no `manifests` in an image manifest and no
 * `config` or `layers` in an index.
 */
function checkAgreement(parsed: ParsedManifest, declared: string): void {
  const body = parsed.value as unknown as Record<string, unknown>;
  const own = body.mediaType as string | undefined;
  const invalid = (message: string) =>
    registryError('MANIFEST_INVALID', { message, detail: { contentType: declared } });
  if (own !== undefined && own !== declared) {
    throw invalid(
      `the manifest's mediaType "${own.slice(0, 100)}" does not match its Content-Type "${declared}"`,
    );
  }
  if (own === undefined && (declared === MediaType.DOCKER_MANIFEST || declared === MediaType.DOCKER_LIST)) {
    throw invalid(`a ${declared} document must carry its mediaType`);
  }
  if (parsed.kind === 'manifest' && body.manifests !== undefined) {
    throw invalid('an image manifest must not have "manifests" (that would make it an index too)');
  }
  if (parsed.kind === 'index' && (body.config !== undefined || body.layers !== undefined)) {
    throw invalid('an index must not have "config" or "layers" (that would make it an image manifest too)');
  }
}

function metaOf(parsed: ParsedManifest, mediaType: string): ManifestMeta {
  const meta: ManifestMeta = { digest: parsed.digest, mediaType, size: parsed.size };
  if (parsed.value.subject) meta.subject = parsed.value.subject.digest;
  const artifactType = artifactTypeOf(parsed);
  if (artifactType) meta.artifactType = artifactType;
  if (parsed.value.annotations) meta.annotations = parsed.value.annotations;
  return meta;
}

/** Code-unit order, like Go's sort.Strings on ASCII names. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Media type of the referrers answer (an image index). */
export const REFERRERS_MEDIA_TYPE = MediaType.OCI_INDEX;
