/**
 * @module sources/local/oci-layout-writer
 * Writing an OCI image layout (`oci:DIR[:TAG]` as a destination): blobs and manifests go to
 * `blobs/<alg>/<encoded>` through a temporary file that is renamed only once its bytes verified,
 * so a layout never holds a partial or wrong blob, even after a crash; `index.json` is replaced
 * atomically by {@link OciLayoutWriter.commit}, keeping what an existing layout listed (a tag
 * that is written again moves to the new image). What skopeo, umoci and `oci:DIR` read.
 * @see https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, parseDigest, verifyingStream } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import type { Descriptor } from '../../core/manifest.js';
import { Annotation, MediaType } from '../../core/media-types.js';
import { writeAtomic } from '../../core/write.js';
import { blobPath } from './oci-layout.js';

/** Where temporary blob files live until they verified (removed, when empty, by `commit()`). */
const TEMP_DIR = '.imgdigest-tmp';

/**
 * Blob writes in flight per layout folder in this process: a commit removes the temporary folder
 * only when none is, so it is never pulled from under a write that made it a moment before.
 */
const writing = new Map<string, number>();

export interface WriteBlobOptions {
  /** The stream verifies itself (every source's `blob()` does): skip hashing it a second time. */
  verified?: boolean;
  /** Bytes written so far. */
  onProgress?: (done: number) => void;
  signal?: AbortSignal;
}

/** An OCI image layout being written. Open with {@link OciLayoutWriter.open}, end with `commit()`. */
export class OciLayoutWriter {
  readonly dir: string;
  /** `oci:DIR`, for messages. */
  readonly label: string;
  readonly #index: Record<string, unknown>;
  #entries: Descriptor[];
  /** Commits run one after another, each writing what is listed when it runs. */
  #committed: Promise<void> = Promise.resolve();

  private constructor(dir: string, index: Record<string, unknown>, entries: Descriptor[]) {
    this.dir = dir;
    this.label = `oci:${dir}`;
    this.#index = index;
    this.#entries = entries;
  }

  /**
   * Open `dir` for writing: an existing layout keeps its blobs and `index.json` entries; a missing
   * or empty folder becomes a new layout. A folder holding something else is refused.
   */
  static async open(dir: string): Promise<OciLayoutWriter> {
    const label = `oci:${dir}`;
    const header = await readFile(join(dir, 'oci-layout'), 'utf8').catch(() => null);
    if (header === null) {
      const entries = await listDir(dir);
      if (entries.some((name) => name !== TEMP_DIR)) {
        throw new ImgdigestError(
          'INPUT_INVALID',
          `${label}: ${dir} is a folder that is not an OCI image layout (no oci-layout file); write to a new or empty folder`,
          { details: { path: dir } },
        );
      }
      await mkdir(dir, { recursive: true }).catch((e: unknown) => {
        throw writeFailed(dir, e);
      });
      return new OciLayoutWriter(dir, { schemaVersion: 2, mediaType: MediaType.OCI_INDEX }, []);
    }
    let index: Record<string, unknown>;
    try {
      index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${label}: cannot read its index.json: ${(e as Error).message}`,
        {
          details: { path: dir },
        },
      );
    }
    const manifests = Array.isArray(index.manifests) ? (index.manifests as Descriptor[]) : [];
    return new OciLayoutWriter(dir, index, manifests);
  }

  /** Whether the layout has the blob (or manifest) `digest` already. */
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    try {
      const info = await stat(join(this.dir, blobPath(digest)));
      return info.isFile() && (size === undefined || info.size === size);
    } catch {
      return false;
    }
  }

  /** Write a blob from a stream; it becomes visible only after its digest and size verified. */
  async writeBlob(
    descriptor: { digest: Digest; size: number },
    content: Readable | AsyncIterable<Uint8Array>,
    options: WriteBlobOptions = {},
  ): Promise<void> {
    const target = join(this.dir, blobPath(descriptor.digest));
    const tempDir = join(this.dir, TEMP_DIR);
    const temp = join(tempDir, `${parseDigest(descriptor.digest).encoded}.${randomBytes(4).toString('hex')}`);
    writing.set(this.dir, (writing.get(this.dir) ?? 0) + 1);
    try {
      await this.#writeBlob(descriptor, content, options, target, tempDir, temp);
    } finally {
      const left = (writing.get(this.dir) ?? 1) - 1;
      if (left > 0) writing.set(this.dir, left);
      else writing.delete(this.dir);
    }
  }

  async #writeBlob(
    descriptor: { digest: Digest; size: number },
    content: Readable | AsyncIterable<Uint8Array>,
    options: WriteBlobOptions,
    target: string,
    tempDir: string,
    temp: string,
  ): Promise<void> {
    await mkdir(join(target, '..'), { recursive: true }).catch((e: unknown) => {
      throw writeFailed(target, e);
    });
    await mkdir(tempDir, { recursive: true }).catch((e: unknown) => {
      throw writeFailed(tempDir, e);
    });
    let done = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        done += chunk.length;
        options.onProgress?.(done);
        callback(null, chunk);
      },
    });
    const source = content instanceof Readable ? content : Readable.from(content, { objectMode: false });
    const stages: NodeJS.ReadWriteStream[] = [counter];
    if (!options.verified) {
      stages.push(
        verifyingStream(descriptor.digest, { size: descriptor.size, what: `blob ${descriptor.digest}` }),
      );
    }
    try {
      await pipeline([source, ...stages, createWriteStream(temp, { flags: 'wx' })], {
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (done !== descriptor.size) {
        throw new ImgdigestError(
          'SIZE_MISMATCH',
          `blob ${descriptor.digest} size mismatch: expected ${descriptor.size} bytes, got ${done}`,
          { details: { expected: descriptor.size, actual: done } },
        );
      }
      await rename(temp, target);
    } catch (e) {
      await rm(temp, { force: true });
      throw isCoded(e) ? e : writeFailed(target, e);
    }
    // The temporary folder stays until commit(): removing it here would pull it from under a
    // blob another copy is writing at the same time.
  }

  /** Write bytes held in memory (a manifest, a config) under their digest. */
  async writeBytes(descriptor: { digest: Digest; size: number }, bytes: Uint8Array): Promise<void> {
    if (await this.hasBlob(descriptor.digest, bytes.byteLength)) return;
    await this.writeBlob(descriptor, Readable.from([Buffer.from(bytes)]));
  }

  /** The entry `index.json` has for `tag`, if any. */
  tagged(tag: string): Descriptor | undefined {
    return this.#entries.find((d) => d.annotations?.[Annotation.REF_NAME] === tag);
  }

  /**
   * List a manifest in `index.json`: with a tag, as the entry named by it (an entry the tag named
   * before is replaced); without, once (by digest).
   */
  add(descriptor: Descriptor, tag?: string): void {
    const entry: Descriptor = {
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
    };
    if (descriptor.artifactType) entry.artifactType = descriptor.artifactType;
    if (descriptor.platform) entry.platform = descriptor.platform;
    if (tag !== undefined) {
      entry.annotations = { [Annotation.REF_NAME]: tag };
      const at = this.#entries.findIndex((d) => d.annotations?.[Annotation.REF_NAME] === tag);
      if (at === -1) this.#entries.push(entry);
      else this.#entries[at] = entry;
      return;
    }
    if (!this.#entries.some((d) => d.digest === descriptor.digest)) this.#entries.push(entry);
  }

  /**
   * Write `oci-layout` and `index.json` (atomically): the layout now lists what was added. Several
   * copies into one layout may commit at once; each commit waits for the one before, so the last
   * `index.json` written lists every entry.
   */
  commit(): Promise<void> {
    const next = this.#committed.then(() => this.#commitNow());
    this.#committed = next.catch(() => undefined);
    return next;
  }

  async #commitNow(): Promise<void> {
    const layoutFile = join(this.dir, 'oci-layout');
    if (!(await stat(layoutFile).catch(() => null))) {
      await writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' })).catch((e: unknown) => {
        throw writeFailed(layoutFile, e);
      });
    }
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      ...this.#index,
      manifests: this.#entries,
    };
    await writeAtomic(join(this.dir, 'index.json'), JSON.stringify(index));
    // Only an empty folder goes: a blob still being written keeps its temporary file there.
    if (!writing.has(this.dir)) await rmdir(join(this.dir, TEMP_DIR)).catch(() => undefined);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new ImgdigestError('INPUT_INVALID', `oci:${dir}: ${dir} is not a folder`, {
        details: { path: dir },
      });
    }
    throw writeFailed(dir, e);
  }
}

function isCoded(e: unknown): boolean {
  return isImgdigestError(e) || (e as { name?: string } | null)?.name === 'AbortError';
}

function writeFailed(path: string, e: unknown): ImgdigestError {
  return new ImgdigestError('WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, {
    cause: e,
    details: { path },
  });
}
