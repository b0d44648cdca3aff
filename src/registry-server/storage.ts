/**
 * @module registry-server/storage
 * The one storage interface of the embedded registry and its in-memory backend (`--memory`).
 * The filesystem backend is in `fs-storage.ts`.
 *
 * Storage is deliberately dumb: a content-addressed blob store (manifests are blobs too) plus,
 * per repository, three sets of links (blobs, manifest revisions with their metadata, tags). All
 * rules (validation, digests, referrers) live in `registry.ts`, so both backends behave the same.
 * Every name and digest given to a backend has already been validated (see `names.ts`).
 *
 * Visibility rule for both backends: an object becomes visible in one atomic step (a rename on
 * disk, a map insert in memory) and only after its bytes are complete.
 */
import { Readable, Writable } from 'node:stream';
import type { Digest } from '../core/digest.js';

/** What the registry remembers about one manifest revision, kept so HEAD never reads the manifest. */
export interface ManifestMeta {
  digest: Digest;
  /** The media type it was pushed with: served as Content-Type. */
  mediaType: string;
  size: number;
  /** The `subject` digest, for the referrers API. */
  subject?: Digest;
  /** The artifactType the referrers API reports (the manifest's own, else its config's media type). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The links of one repository. */
export interface RepositoryRecord {
  blobs: Set<Digest>;
  manifests: Map<Digest, ManifestMeta>;
  tags: Map<string, Digest>;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The temporary home of one upload. Bytes are appended through {@link writable}; nothing is
 * visible under a digest until {@link commit}, which the caller only calls after verifying it.
 */
export interface UploadTarget {
  /** A stream that appends at byte `offset` (the current size; earlier bytes stay). */
  writable(offset: number): Writable;
  /** Cut the temporary data back to `size` bytes (after a failed or interrupted chunk). */
  truncate(size: number): Promise<void>;
  /** The bytes written so far (to hash them again with another algorithm). */
  read(): Readable;
  /** Make the bytes visible as blob `digest`; the temporary data is gone afterwards. */
  commit(digest: Digest): Promise<void>;
  /** Drop the temporary data. Safe to call twice. */
  abort(): Promise<void>;
}

export interface Storage {
  /** A label for the startup line: the root directory, or `memory`. */
  readonly description: string;
  /** Prepare the backend; drops uploads left by a previous process (they cannot be resumed). */
  init(): Promise<void>;

  /** The size of a stored blob, or null. */
  blobSize(digest: Digest): Promise<number | null>;
  /** Stream a stored blob (or an inclusive range of it). */
  readBlob(digest: Digest, range?: ByteRange): Readable;
  /** The whole blob in memory (manifests, configs). */
  readBlobBytes(digest: Digest): Promise<Buffer>;
  /** Store verified bytes under their digest (manifests, loaded layouts). */
  putBlobBytes(digest: Digest, bytes: Uint8Array): Promise<void>;
  /** Open a temporary upload with a fresh id. */
  createUpload(id: string): Promise<UploadTarget>;

  /** Every repository that has links, unsorted. */
  listRepositories(): Promise<string[]>;
  /** The links of a repository, or null when it has none. */
  loadRepository(name: string): Promise<RepositoryRecord | null>;
  linkBlob(name: string, digest: Digest): Promise<void>;
  unlinkBlob(name: string, digest: Digest): Promise<void>;
  putManifestMeta(name: string, meta: ManifestMeta): Promise<void>;
  deleteManifestMeta(name: string, digest: Digest): Promise<void>;
  putTag(name: string, tag: string, digest: Digest): Promise<void>;
  deleteTag(name: string, tag: string): Promise<void>;
}

/** Everything in process memory: fast, gone when the process ends (`--memory`, tests). */
export class MemoryStorage implements Storage {
  readonly description = 'memory';
  private readonly blobs = new Map<Digest, Buffer>();
  private readonly repos = new Map<string, RepositoryRecord>();

  async init(): Promise<void> {}

  async blobSize(digest: Digest): Promise<number | null> {
    return this.blobs.get(digest)?.byteLength ?? null;
  }

  readBlob(digest: Digest, range?: ByteRange): Readable {
    const bytes = this.blobs.get(digest);
    if (!bytes) return Readable.from([]).destroy(new Error(`blob ${digest} is not stored`));
    const slice = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    return Readable.from([slice], { objectMode: false });
  }

  async readBlobBytes(digest: Digest): Promise<Buffer> {
    const bytes = this.blobs.get(digest);
    if (!bytes) throw new Error(`blob ${digest} is not stored`);
    return bytes;
  }

  async putBlobBytes(digest: Digest, bytes: Uint8Array): Promise<void> {
    if (!this.blobs.has(digest)) this.blobs.set(digest, Buffer.from(bytes));
  }

  async createUpload(_id: string): Promise<UploadTarget> {
    let chunks: Buffer[] = [];
    let size = 0;
    const blobs = this.blobs;
    return {
      writable(offset) {
        if (offset !== size) throw new Error(`memory upload is ${size} bytes, cannot append at ${offset}`);
        return new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk);
            size += chunk.byteLength;
            callback();
          },
        });
      },
      async truncate(to) {
        const all = Buffer.concat(chunks).subarray(0, to);
        chunks = [all];
        size = all.byteLength;
      },
      read() {
        return Readable.from([Buffer.concat(chunks)]);
      },
      async commit(digest) {
        if (!blobs.has(digest)) blobs.set(digest, Buffer.concat(chunks));
        chunks = [];
      },
      async abort() {
        chunks = [];
        size = 0;
      },
    };
  }

  async listRepositories(): Promise<string[]> {
    return [...this.repos.keys()];
  }

  async loadRepository(name: string): Promise<RepositoryRecord | null> {
    const record = this.repos.get(name);
    if (!record) return null;
    return { blobs: new Set(record.blobs), manifests: new Map(record.manifests), tags: new Map(record.tags) };
  }

  private record(name: string): RepositoryRecord {
    let record = this.repos.get(name);
    if (!record) {
      record = { blobs: new Set(), manifests: new Map(), tags: new Map() };
      this.repos.set(name, record);
    }
    return record;
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    this.record(name).blobs.add(digest);
  }

  async unlinkBlob(name: string, digest: Digest): Promise<void> {
    this.repos.get(name)?.blobs.delete(digest);
  }

  async putManifestMeta(name: string, meta: ManifestMeta): Promise<void> {
    this.record(name).manifests.set(meta.digest, meta);
  }

  async deleteManifestMeta(name: string, digest: Digest): Promise<void> {
    this.repos.get(name)?.manifests.delete(digest);
  }

  async putTag(name: string, tag: string, digest: Digest): Promise<void> {
    this.record(name).tags.set(tag, digest);
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    this.repos.get(name)?.tags.delete(tag);
  }
}
