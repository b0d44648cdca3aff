/**
 * @module registry-server/fs-storage
 * The filesystem backend of the embedded registry (`--root DIR`).
 *
 * Layout under the root (names and digests were validated before they get here; repository path
 * components start with `[a-z0-9]`, so they never collide with the `_`-prefixed folders):
 * ```
 * blobs/<alg>/<2 hex>/<hex>                  blob and manifest bytes, content-addressed
 * repositories/<name>/_blobs/<alg>/<hex>     empty file: the blob is linked into the repository
 * repositories/<name>/_manifests/<alg>/<hex> JSON ManifestMeta: the revision exists in the repository
 * repositories/<name>/_tags/<tag>            the digest the tag points to
 * _uploads/<uuid>                            bytes of an upload in progress
 * ```
 * Every visible file appears by `rename` of a complete, fsynced temporary file in the same folder,
 * so a crash or `kill -9` never leaves a partial blob, manifest or tag behind. Uploads live in
 * `_uploads` and are dropped when the registry starts (their sessions were in the dead process).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../core/digest.js';
import type { ByteRange, ManifestMeta, RepositoryRecord, Storage, UploadTarget } from './storage.js';

/**
 * Bytes buffered between the network and the disk, each way. Node's defaults (16 KiB for a write
 * stream, 64 KiB for a read stream) made an upload pause the client's socket after every 64 KiB
 * chunk until the disk write came back, and a download read the file 64 KiB at a time; with a few
 * MiB in flight the disk writes overlap with receiving (and go out as one writev), and blobs are
 * read in fewer, larger pieces (2 MiB: four parallel downloads of a 1 GiB image ran faster than
 * with 1 MiB or 4 MiB reads). Bounded per request, whatever the blob's size.
 */
const UPLOAD_BUFFER = 8 * 1024 * 1024;
const READ_CHUNK = 2 * 1024 * 1024;

export class FsStorage implements Storage {
  readonly description: string;
  private readonly uploadsDir: string;
  private readonly reposDir: string;
  private readonly blobsDir: string;
  /** Sizes of blobs seen on disk: blob HEAD is a hot path and blobs never change once written. */
  private readonly sizes = new Map<Digest, number>();

  constructor(readonly root: string) {
    this.description = root;
    this.uploadsDir = join(root, '_uploads');
    this.reposDir = join(root, 'repositories');
    this.blobsDir = join(root, 'blobs');
  }

  async init(): Promise<void> {
    await rm(this.uploadsDir, { recursive: true, force: true });
    await mkdir(this.uploadsDir, { recursive: true });
    await mkdir(this.reposDir, { recursive: true });
    await mkdir(this.blobsDir, { recursive: true });
  }

  private blobPath(digest: Digest): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.blobsDir, alg, hex.slice(0, 2), hex);
  }

  async blobSize(digest: Digest): Promise<number | null> {
    const known = this.sizes.get(digest);
    if (known !== undefined) return known;
    try {
      const size = (await stat(this.blobPath(digest))).size;
      this.sizes.set(digest, size);
      return size;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  readBlob(digest: Digest, range?: ByteRange): Readable {
    return createReadStream(this.blobPath(digest), {
      highWaterMark: READ_CHUNK,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
  }

  readBlobBytes(digest: Digest): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  async putBlobBytes(digest: Digest, bytes: Uint8Array): Promise<void> {
    if ((await this.blobSize(digest)) !== null) return;
    await writeFileAtomic(this.blobPath(digest), bytes, this.uploadsDir);
    this.sizes.set(digest, bytes.byteLength);
  }

  async createUpload(id: string): Promise<UploadTarget> {
    const path = join(this.uploadsDir, id);
    await (await open(path, 'wx')).close();
    const storage = this;
    return {
      writable(offset: number): Writable {
        return createWriteStream(path, { flags: 'r+', start: offset, highWaterMark: UPLOAD_BUFFER });
      },
      truncate: (size) => truncate(path, size),
      read: () => createReadStream(path),
      async commit(digest) {
        const target = storage.blobPath(digest);
        if ((await storage.blobSize(digest)) !== null) {
          // Same content pushed concurrently or earlier: the stored copy is identical.
          await rm(path, { force: true });
          return;
        }
        await fsyncFile(path);
        await mkdir(dirname(target), { recursive: true });
        await rename(path, target);
      },
      abort: () => rm(path, { force: true }),
    };
  }

  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      if (prefix && entries.some((e) => e.name.startsWith('_'))) found.push(prefix);
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith('_')) {
          await walk(join(dir, entry.name), prefix ? `${prefix}/${entry.name}` : entry.name);
        }
      }
    };
    await walk(this.reposDir, '');
    return found;
  }

  async loadRepository(name: string): Promise<RepositoryRecord | null> {
    const dir = join(this.reposDir, name);
    const [blobs, manifests, tags] = await Promise.all([
      listDigests(join(dir, '_blobs')),
      listDigests(join(dir, '_manifests')),
      readdir(join(dir, '_tags')).catch(emptyIfMissing),
    ]);
    if (blobs.length === 0 && manifests.length === 0 && tags.length === 0) return null;
    const record: RepositoryRecord = { blobs: new Set(blobs), manifests: new Map(), tags: new Map() };
    await Promise.all(
      manifests.map(async (digest) => {
        const meta = await readJsonIfComplete<ManifestMeta>(this.manifestPath(name, digest));
        if (meta && meta.digest === digest) record.manifests.set(digest, meta);
      }),
    );
    await Promise.all(
      tags.map(async (tag) => {
        const digest = (await readFile(join(dir, '_tags', tag), 'utf8').catch(() => '')).trim();
        if (record.manifests.has(digest as Digest)) record.tags.set(tag, digest as Digest);
      }),
    );
    return record;
  }

  private linkPath(name: string, digest: Digest): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.reposDir, name, '_blobs', alg, hex);
  }

  private manifestPath(name: string, digest: Digest): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.reposDir, name, '_manifests', alg, hex);
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    // An empty file appears whole or not at all; no rename needed.
    const path = this.linkPath(name, digest);
    await mkdir(dirname(path), { recursive: true });
    await (await open(path, 'a')).close();
  }

  async unlinkBlob(name: string, digest: Digest): Promise<void> {
    await unlink(this.linkPath(name, digest)).catch(ignoreMissing);
  }

  async putManifestMeta(name: string, meta: ManifestMeta): Promise<void> {
    await writeFileAtomic(this.manifestPath(name, meta.digest), JSON.stringify(meta), this.uploadsDir);
  }

  async deleteManifestMeta(name: string, digest: Digest): Promise<void> {
    await unlink(this.manifestPath(name, digest)).catch(ignoreMissing);
  }

  async putTag(name: string, tag: string, digest: Digest): Promise<void> {
    await writeFileAtomic(join(this.reposDir, name, '_tags', tag), digest, this.uploadsDir);
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    await unlink(join(this.reposDir, name, '_tags', tag)).catch(ignoreMissing);
  }
}

function splitDigest(digest: Digest): [string, string] {
  const colon = digest.indexOf(':');
  return [digest.slice(0, colon), digest.slice(colon + 1)];
}

/** `alg/hex` files under `dir`, as digests. */
async function listDigests(dir: string): Promise<Digest[]> {
  const algorithms = await readdir(dir).catch(emptyIfMissing);
  const lists = await Promise.all(
    algorithms.map(async (alg) =>
      (await readdir(join(dir, alg)).catch(emptyIfMissing)).map((hex) => `${alg}:${hex}` as Digest),
    ),
  );
  return lists.flat();
}

async function readJsonIfComplete<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * Write `data` to a temporary file in `tmpDir` (on the same filesystem), fsync it, then rename it
 * over `path`: readers see the old file or the whole new one, never a part (POSIX rename is atomic
 * within a filesystem). Temporaries outside the data folders cannot be mistaken for tags.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  tmpDir: string,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(tmpDir, `write-${randomBytes(8).toString('hex')}`);
  const handle = await open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function emptyIfMissing(error: unknown): string[] {
  if (isNotFound(error) || (error as NodeJS.ErrnoException)?.code === 'ENOTDIR') return [];
  throw error;
}

function ignoreMissing(error: unknown): void {
  if (!isNotFound(error)) throw error;
}
