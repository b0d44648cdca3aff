/**
 * @module registry-server/uploads
 * Blob upload sessions (distribution-spec "Pushing blobs"): monolithic, POST+PUT, chunked PATCH and
 * streamed PATCH, status, cancel.
 *
 * Bytes are hashed while they are written to the session's temporary file, so closing an upload
 * costs no second read. A chunk that fails half-way (client gone, disk full, wrong length) is rolled
 * back: the file is truncated and the hash restored to their state before the chunk, so the session
 * stays usable and its `Range` stays true. A blob becomes visible only after the final digest
 * matched (DIGEST_INVALID otherwise, and the session is dropped so nothing partial lingers).
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Digest, digestOfStream, isVerifiableAlgorithm, parseDigest } from '../core/digest.js';
import { registryError } from './errors.js';
import { copyRequestBody } from './http.js';
import type { RepoName } from './names.js';
import type { Registry } from './registry.js';
import type { UploadTarget } from './storage.js';

/** Sessions idle longer than this are dropped (distribution purges after a week; memory is dearer). */
const SESSION_IDLE_MS = 60 * 60 * 1000;

export interface UploadSession {
  readonly id: string;
  readonly name: RepoName;
  /** Bytes received so far. */
  size: number;
  lastUsed: number;
  /** True while a chunk is being written: a second concurrent PATCH is refused. */
  busy: boolean;
  readonly algorithm: string;
  hash: Hash;
  readonly target: UploadTarget;
}

/** What a chunk request says about itself (Content-Range / Content-Length). */
export interface ChunkHeaders {
  /** Inclusive `start-end` from Content-Range, if sent. */
  range?: { start: number; end: number };
  /** Content-Length, if sent. */
  length?: number;
}

export class UploadManager {
  private readonly sessions = new Map<string, UploadSession>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly registry: Registry) {
    this.timer = setInterval(() => void this.expire(), 5 * 60 * 1000);
    this.timer.unref();
  }

  /** Start a session; `algorithm` is the hash to compute while writing (`?digest-algorithm=`). */
  async create(name: RepoName, algorithm = 'sha256'): Promise<UploadSession> {
    if (!isVerifiableAlgorithm(algorithm)) {
      throw registryError('DIGEST_INVALID', {
        message: `unsupported digest algorithm "${algorithm}"`,
        detail: { algorithm },
      });
    }
    const id = randomUUID();
    const target = await this.registry.storage.createUpload(id);
    const session: UploadSession = {
      id,
      name,
      size: 0,
      lastUsed: Date.now(),
      busy: false,
      algorithm,
      hash: createHash(algorithm),
      target,
    };
    this.sessions.set(id, session);
    return session;
  }

  /** The session `id` of repository `name`, or BLOB_UPLOAD_UNKNOWN. */
  get(name: RepoName, id: string): UploadSession {
    const session = this.sessions.get(id);
    if (!session || session.name !== name) {
      throw registryError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id } });
    }
    session.lastUsed = Date.now();
    return session;
  }

  /**
   * Append one chunk. A Content-Range must start where the upload ends (else 416, as the spec's
   * chunked flow requires) and agree with Content-Length; the body must have exactly the announced
   * length (SIZE_INVALID otherwise, and the chunk is rolled back).
   */
  async append(session: UploadSession, body: IncomingMessage, headers: ChunkHeaders): Promise<void> {
    const { range, length } = headers;
    if (range) {
      if (range.start !== session.size || range.end < range.start) {
        throw registryError('RANGE_INVALID', {
          status: 416,
          message: `chunk range ${range.start}-${range.end} does not continue the upload at ${session.size}`,
          headers: rangeHeaders(session),
        });
      }
      if (length !== undefined && length !== range.end - range.start + 1) {
        throw registryError('SIZE_INVALID', {
          message: `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`,
        });
      }
    }
    const expected = range ? range.end - range.start + 1 : length;
    if (session.busy) {
      throw registryError('BLOB_UPLOAD_INVALID', {
        message: 'another chunk of this upload is being written',
      });
    }
    session.busy = true;
    const before = session.size;
    const snapshot = session.hash.copy();
    let received = 0;
    try {
      await copyRequestBody(body, session.target.writable(before), (chunk) => {
        received += chunk.byteLength;
        if (expected !== undefined && received > expected) {
          throw registryError('SIZE_INVALID', {
            message: `chunk is longer than the announced ${expected} bytes`,
          });
        }
        session.hash.update(chunk);
      });
      if (expected !== undefined && received !== expected) {
        throw registryError('SIZE_INVALID', {
          message: `chunk has ${received} bytes, ${expected} were announced`,
        });
      }
      session.size = before + received;
    } catch (error) {
      session.hash = snapshot;
      await session.target.truncate(before).catch(() => undefined);
      throw error;
    } finally {
      session.busy = false;
      session.lastUsed = Date.now();
    }
  }

  /**
   * Close the upload: the bytes must hash to `digest` (DIGEST_INVALID otherwise, and the session is
   * dropped). Then the blob is stored and linked into the repository.
   */
  async finish(session: UploadSession, digestParam: Digest): Promise<void> {
    if (session.busy) {
      throw registryError('BLOB_UPLOAD_INVALID', {
        message: 'a chunk of this upload is still being written',
      });
    }
    this.sessions.delete(session.id);
    try {
      const { algorithm } = parseDigest(digestParam);
      if (!isVerifiableAlgorithm(algorithm)) {
        throw registryError('DIGEST_INVALID', {
          message: `cannot verify digest algorithm "${algorithm}"`,
          detail: { digest: digestParam },
        });
      }
      const actual =
        algorithm === session.algorithm
          ? (`${algorithm}:${session.hash.digest('hex')}` as Digest)
          : (await digestOfStream(session.target.read(), algorithm)).digest;
      if (actual !== digestParam) {
        throw registryError('DIGEST_INVALID', {
          message: `upload digest mismatch: expected ${digestParam}, got ${actual}`,
          detail: { digest: digestParam, actual },
        });
      }
      await session.target.commit(digestParam);
    } catch (error) {
      await session.target.abort().catch(() => undefined);
      throw error;
    }
    await this.registry.linkBlob(session.name, digestParam);
  }

  /** Cancel an upload (end-14): its bytes are dropped. */
  async cancel(session: UploadSession): Promise<void> {
    this.sessions.delete(session.id);
    await session.target.abort();
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const session of [...this.sessions.values()]) {
      if (!session.busy && now - session.lastUsed > SESSION_IDLE_MS) {
        await this.cancel(session).catch(() => undefined);
      }
    }
  }

  /** Drop every session (server shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.sessions.values()].map((s) => this.cancel(s).catch(() => undefined)));
  }
}

/** `Location` of an upload session (relative: the spec allows it and it survives proxies). */
export function uploadLocation(session: UploadSession): string {
  return `/v2/${session.name}/blobs/uploads/${session.id}`;
}

/** The headers every upload answer carries: Location, Range (`0-N`, no `bytes=`), Docker-Upload-UUID. */
export function rangeHeaders(session: UploadSession): Record<string, string> {
  return {
    Location: uploadLocation(session),
    // An empty upload reports 0-0, as distribution does; the spec's conformance test accepts it.
    Range: `0-${Math.max(0, session.size - 1)}`,
    'Docker-Upload-UUID': session.id,
  };
}
